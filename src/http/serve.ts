import { withTimeout } from "../clock.ts";
import type { Kernel } from "../kernel.ts";

/** The listener could not be opened; the message says what to change. */
export class ListenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ListenError";
  }
}

/** Options for {@link serveKernel}. */
export interface ServeKernelOptions {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
  /** How long in-flight requests may run after shutdown begins. */
  shutdownGraceMs: number;
}

/** A kernel that is listening. */
export interface RunningServer {
  /** `http://host:port` with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /**
   * Graceful shutdown: readiness fails at once, the listener stops
   * accepting, in-flight requests get the grace time to finish, then the
   * plugins stop in reverse order and kernel resources close. Idempotent.
   */
  shutdown(): Promise<void>;
}

/**
 * Serves the kernel's app with `Deno.serve`.
 *
 * @throws {ListenError} When the address is taken or not allowed.
 */
export function serveKernel(kernel: Kernel, options: ServeKernelOptions): RunningServer {
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: options.hostname,
      port: options.port,
      onListen: () => {},
    }, kernel.app.fetch);
  } catch (error) {
    const where = `${options.hostname}:${options.port}`;
    if (error instanceof Deno.errors.AddrInUse) {
      throw new ListenError(
        `Cannot listen on ${where}: the address is already in use. Stop the other process or choose another port with PORT or server.port`,
        { cause: error },
      );
    }
    if (error instanceof Deno.errors.AddrNotAvailable) {
      throw new ListenError(
        `Cannot listen on ${where}: this machine has no such address. Check HOST or server.host`,
        { cause: error },
      );
    }
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new ListenError(`Cannot listen on ${where}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  const { port } = server.addr;
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  let shuttingDown: Promise<void> | undefined;

  async function shutdown() {
    kernel.beginStopping();
    kernel.log.info("shutting down", { grace_ms: options.shutdownGraceMs });
    try {
      await withTimeout(
        kernel.clock,
        server.shutdown(),
        options.shutdownGraceMs,
        () => new Error(`in-flight requests did not finish within ${options.shutdownGraceMs} ms`),
      );
    } catch (error) {
      kernel.log.warn("stopping with requests still in flight", { error });
    }
    await kernel.stop();
    kernel.log.info("stopped");
  }

  return {
    url: `http://${host}:${port}`,
    port,
    shutdown() {
      shuttingDown ??= shutdown();
      return shuttingDown;
    },
  };
}
