/** One queried permission, as `/health` reports it. */
export interface PermissionEntry {
  /** `read`, `write`, `net`, `env`, `run`, `ffi`, `sys` or `import`. */
  permission: Deno.PermissionDescriptor["name"];
  /** `*` for the unscoped permission, else the path or name queried. */
  target: string;
  /** What `Deno.permissions.query` answered. */
  state: Deno.PermissionState;
  /**
   * Whether the server may use it. The server never prompts (`--no-prompt`),
   * so only `granted` is allowed.
   */
  allowed: boolean;
}

/** Paths worth showing to an operator. */
export interface PermissionProbeOptions {
  /** The application's directory (absolute). */
  appDir: string;
  /** The data directory (absolute). */
  dataDir: string;
}

/**
 * Queries the permissions the process runs with: every kind unscoped, plus
 * the application and data directories and `/etc` as an example of a path
 * outside both, so the report shows where the filesystem grant ends.
 */
export async function queryPermissions(
  options: PermissionProbeOptions,
): Promise<PermissionEntry[]> {
  const probes: Array<[Deno.PermissionDescriptor, string]> = [
    [{ name: "read" }, "*"],
    [{ name: "read", path: options.appDir }, options.appDir],
    [{ name: "read", path: options.dataDir }, options.dataDir],
    [{ name: "read", path: "/etc" }, "/etc"],
    [{ name: "write" }, "*"],
    [{ name: "write", path: options.dataDir }, options.dataDir],
    [{ name: "write", path: options.appDir }, options.appDir],
    [{ name: "net" }, "*"],
    [{ name: "env" }, "*"],
    [{ name: "run" }, "*"],
    [{ name: "ffi" }, "*"],
    [{ name: "sys" }, "*"],
    [{ name: "import" }, "*"],
  ];
  return await Promise.all(probes.map(async ([descriptor, target]) => {
    const { state } = await Deno.permissions.query(descriptor);
    return { permission: descriptor.name, target, state, allowed: state === "granted" };
  }));
}
