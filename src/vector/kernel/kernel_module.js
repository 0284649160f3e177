// @ts-self-types="./kernel_module.d.ts"
// The compiled kernel as a WebAssembly.Module, so each index gets its own
// instance and memory. Source-phase imports run in Deno 2.9.6 but its
// TypeScript cannot parse them yet, hence this small JavaScript file.
import source kernelModule from "./kernel.wasm";

export { kernelModule };
