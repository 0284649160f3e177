import { withTimeout } from "../clock.ts";
import { errorMessage } from "../errors.ts";
import type { Kernel } from "../kernel.ts";

/** The listener could not be opened; the message says what to change. */
export class ListenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ListenError";
  }
}

/** The first wait before listening again after the listener failed, and the longest. */
const RELISTEN_FIRST_MS = 500;
const RELISTEN_MAX_MS = 5_000;

/** Where to listen. */
export interface ListenAddress {
  hostname: string;
  /** 0 picks a free port. */
  port: number;
}

/** Options for {@link serveKernel}. */
export interface ServeKernelOptions extends ListenAddress {
  /** How long in-flight requests may run after shutdown begins. */
  shutdownGraceMs: number;
  /** PEM certificate and key: the server speaks only HTTPS (TLS 1.2 and 1.3). */
  tls?: { cert: string; key: string } | undefined;
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

function listenError(address: ListenAddress, error: unknown): ListenError {
  const where = `${address.hostname}:${address.port}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return new ListenError(
      `Cannot listen on ${where}: the address is already in use. Stop the other process or choose another port with --port, PORT or server.port`,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new ListenError(
      `Cannot listen on ${where}: this machine has no such address. Check --host, HOST or server.host`,
      { cause: error },
    );
  }
  return new ListenError(`Cannot listen on ${where}: ${errorMessage(error)}`, { cause: error });
}

/**
 * Checks the address can be bound by binding and releasing it, so a taken
 * port or an unknown host is reported before any plugin starts.
 *
 * @throws {ListenError} When the address is taken or not allowed.
 */
export function probeListen(address: ListenAddress): void {
  try {
    Deno.listen({ hostname: address.hostname, port: address.port }).close();
  } catch (error) {
    throw listenError(address, error);
  }
}

/**
 * Serves the kernel's app with `Deno.serve`.
 *
 * @throws {ListenError} When the address is taken, unknown or not allowed.
 */
export function serveKernel(kernel: Kernel, options: ServeKernelOptions): RunningServer {
  const open = (port: number) =>
    Deno.serve({
      hostname: options.hostname,
      port,
      onListen: () => {},
      ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
    }, kernel.app.fetch);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = open(options.port);
  } catch (error) {
    throw listenError(options, error);
  }
  const { port } = server.addr;
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  let shuttingDown: Promise<void> | undefined;
  let reopenTimer: ReturnType<typeof setTimeout> | null = null;
  /** Listeners that failed and were replaced: their connections may still be answering. */
  const earlier: Deno.HttpServer<Deno.NetAddr>[] = [];

  /**
   * Deno's listener stops for good when accepting fails — with too many open files, say, which
   * idle connections that never finish their request can cause (Deno has no header timeout):
   * its `finished` rejects, and unhandled that ended the process. Instead the server says so and
   * listens again, retrying until descriptors are free; requests in flight and the running turn
   * go on meanwhile. Real time: it waits for the operating system, not for the kernel's clock.
   */
  const watch = (current: Deno.HttpServer<Deno.NetAddr>) => {
    current.finished.catch((error) => {
      if (shuttingDown || server !== current) return;
      kernel.log.error("the server stopped accepting connections; listening again", {
        error: errorMessage(error),
      });
      reopen(RELISTEN_FIRST_MS);
    });
  };
  const reopen = (delayMs: number) => {
    reopenTimer = setTimeout(() => {
      reopenTimer = null;
      if (shuttingDown) return;
      try {
        const failed = server;
        server = open(port);
        // The failed listener's open connections still finish; shutdown waits for them too.
        earlier.push(failed);
      } catch (error) {
        kernel.log.warn("listening again failed; trying later", {
          error: errorMessage(error),
          retry_ms: Math.min(delayMs * 2, RELISTEN_MAX_MS),
        });
        reopen(Math.min(delayMs * 2, RELISTEN_MAX_MS));
        return;
      }
      watch(server);
      kernel.log.warn("accepting connections again", { port });
    }, delayMs);
  };
  watch(server);

  async function shutdown() {
    if (reopenTimer !== null) clearTimeout(reopenTimer);
    kernel.beginStopping();
    kernel.log.info("shutting down", { grace_ms: options.shutdownGraceMs });
    try {
      // In-flight requests, handlers whose request was answered 504 TIMEOUT, and the running turn
      // (streamed over a socket, or answered 202, it may have no request open) get the grace
      // time; then the mind cancels a turn still running.
      const settled = [
        server.shutdown(),
        // A failed listener may reject again: its connections are what is waited for.
        ...earlier.map((listener) => listener.shutdown().catch(() => {})),
        kernel.requestTimer.settled(),
        kernel.mind.settled(),
      ];
      await withTimeout(Promise.all(settled), {
        clock: kernel.clock,
        ms: options.shutdownGraceMs,
        error: () =>
          new Error(
            `in-flight requests or the running turn did not finish within ${options.shutdownGraceMs} ms`,
          ),
      });
    } catch (error) {
      // The grace time ran out, an expected end: its message is enough, with no stack.
      kernel.log.warn("stopping with requests still in flight", {
        reason: error instanceof Error ? error.message : String(error),
      });
    }
    await kernel.stop();
    kernel.log.info("stopped");
  }

  return {
    url: `${options.tls ? "https" : "http"}://${host}:${port}`,
    port,
    shutdown() {
      shuttingDown ??= shutdown();
      return shuttingDown;
    },
  };
}
