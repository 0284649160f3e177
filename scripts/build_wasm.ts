/**
 * Compiles the vector index kernel (`src/vector/kernel/kernel.ts`,
 * AssemblyScript) into the committed `kernel.wasm` (`deno task
 * build:wasm`). The build is deterministic; a test rebuilds it and compares
 * the bytes.
 *
 * @module
 */
import asc from "assemblyscript/asc";

/** Where the kernel source and the committed binary live. */
export const KERNEL_DIR: URL = new URL("../src/vector/kernel/", import.meta.url);

/** The compiler arguments (the spec's flags: -O3, stub runtime, SIMD, no abort import). */
export const ASC_ARGS: readonly string[] = [
  "kernel.ts",
  "--outFile",
  "kernel.wasm",
  "-O3",
  "--runtime",
  "stub",
  "--enable",
  "simd",
  "--use",
  "abort=",
];

/**
 * Compiles the kernel in memory and returns the `.wasm` bytes.
 *
 * @throws {Error} With the compiler's messages when compilation fails.
 */
export async function buildKernel(): Promise<Uint8Array> {
  const outputs = new Map<string, Uint8Array | string>();
  const { error, stderr } = await asc.main([...ASC_ARGS], {
    readFile: (name: string, baseDir: string) => {
      try {
        return Deno.readTextFileSync(new URL(`${baseDir}/${name}`, KERNEL_DIR));
      } catch {
        return null;
      }
    },
    writeFile: (name: string, contents: Uint8Array | string) => void outputs.set(name, contents),
    listFiles: () => [],
  });
  if (error) throw new Error(`Cannot compile the vector kernel: ${stderr.toString()}`);
  const wasm = outputs.get("kernel.wasm");
  if (!(wasm instanceof Uint8Array)) throw new Error("The compiler wrote no kernel.wasm");
  return wasm;
}

if (import.meta.main) {
  const wasm = await buildKernel();
  await Deno.writeFile(new URL("kernel.wasm", KERNEL_DIR), wasm);
  // deno-lint-ignore no-console
  console.log(`wrote src/vector/kernel/kernel.wasm (${wasm.length} bytes)`);
}
