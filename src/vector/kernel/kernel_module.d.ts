/** The compiled vector index kernel; instantiate it once per index. */
export declare const kernelModule: WebAssembly.Module;
