/**
 * The sandbox child (spec/tools.md §3.2): started by the host under
 * `prlimit` with `deno run --no-prompt --no-remote --no-npm --no-config`
 * and exactly the call's grants as flags. It reads the `sandbox.init` frame
 * (with the host's token) before any tool code exists, then runs each
 * `tool.call` in a Worker whose `deno.permissions` are the same grants — a
 * second layer — and answers `tool.result` frames carrying the token.
 * Relative imports only: this folder is all the child may read of the app.
 *
 * @module
 */
import { encodeFrame, readFrames } from "./frames.ts";

interface Grants {
  read?: string[];
  write?: string[];
  net?: string[];
  env?: string[];
  run?: string[];
}

interface Init {
  type: "sandbox.init";
  protocol: 1;
  token: string;
  mode: "code" | "tool";
  grants: Grants;
  code?: string;
  tool?: string;
}

type Call =
  | { type: "tool.call"; callId: string; args: unknown; deadlineMs: number }
  | { type: "sandbox.shutdown" };

async function send(message: Record<string, unknown>, token: string) {
  await Deno.stdout.write(encodeFrame({ ...message, token }));
}

/** The Worker's permissions: the grants, every other kind off. */
function workerPermissions(grants: Grants, extraRead: string[] = []) {
  const list = (value: string[] | undefined) => (value && value.length > 0 ? value : false);
  return {
    read: list([...(grants.read ?? []), ...extraRead]),
    write: list(grants.write),
    net: list(grants.net),
    env: list(grants.env),
    run: list(grants.run),
    ffi: false,
    sys: false,
    import: false,
  } as const;
}

/**
 * The Worker's module: model-written code as the body of an async function
 * of `args`, or a tool module's default export.
 */
function harness(body: string): string {
  return `${body}\n` +
    `self.onmessage = async (event) => {\n` +
    `  try { self.postMessage({ ok: true, data: await __body(event.data) ?? null }); }\n` +
    `  catch (error) { self.postMessage({ ok: false, error: { name: String(error?.name ?? "Error"), message: String(error?.message ?? error) } }); }\n` +
    `};\n`;
}

function blobUrl(source: string): string {
  return URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
}

async function main() {
  const frames = readFrames(Deno.stdin.readable);
  const first = await frames.next();
  const init = first.value as Init | undefined;
  if (!init || init.type !== "sandbox.init" || init.protocol !== 1 || !init.token) Deno.exit(70);
  const token = init.token;
  let url: string;
  let extraRead: string[] = [];
  if (init.mode === "code") {
    url = blobUrl(harness(`const __body = async (args) => {\n${init.code ?? ""}\n};`));
  } else {
    const module = new URL(init.tool!, import.meta.url);
    url = blobUrl(harness(`import __body from ${JSON.stringify(module.href)};`));
    extraRead = [module.pathname];
  }
  await send({ type: "sandbox.ready" }, token);
  for await (const frame of frames) {
    const call = frame as Call;
    if (call.type === "sandbox.shutdown") break;
    if (call.type !== "tool.call") Deno.exit(71);
    const { callId, args } = call;
    // A fresh Worker per call: nothing is shared between calls.
    const worker = new Worker(url, {
      type: "module",
      deno: { permissions: workerPermissions(init.grants, extraRead) },
    } as WorkerOptions);
    const outcome = await new Promise<Record<string, unknown>>((resolve) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.onerror = (event) => {
        event.preventDefault();
        resolve({ ok: false, error: { name: "Error", message: String(event.message) } });
      };
      worker.postMessage(args);
    });
    worker.terminate();
    await send({ type: "tool.result", callId, ...outcome }, token);
  }
  Deno.exit(0);
}

await main();
