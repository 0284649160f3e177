/**
 * The sandbox child (spec/tools.md §3.2): started by the host under
 * `prlimit` with `deno run --no-prompt --no-remote --no-npm --no-config`
 * and exactly the grants as flags. It reads the `sandbox.init` frame (with
 * the host's token) before any tool code exists, then runs each `tool.call`
 * in a fresh Worker whose `deno.permissions` are the same grants — a second
 * layer — built from a blob URL of the code the call carries, and answers
 * `tool.result` frames carrying the token. A pooled child serves many calls,
 * one at a time, never sharing a Worker. Relative imports only: this folder
 * is all the child may read of the app.
 *
 * @module
 */
import { encodeFrame, FrameError, readFrames } from "./frames.ts";

interface Grants {
  read?: string[];
  write?: string[];
  net?: string[];
  /** Handled by the child's `--deny-net` flag; the Worker inherits the denial. */
  denyNet?: string[];
  env?: string[];
  run?: string[];
}

interface Init {
  type: "sandbox.init";
  protocol: 1;
  token: string;
  grants: Grants;
  /** `plugin`: a third-party plugin's bundle runs in one long-lived Worker. */
  mode?: "tool" | "plugin";
  code?: string;
  config?: unknown;
  /**
   * Started without permission flags (a compiled binary's `__sandbox`
   * mode): revoke every kind the grants do not name before any Worker exists.
   */
  revoke?: boolean;
}

/** Permission kinds the child may hold, and whether the grants name each. */
const KINDS = ["read", "write", "net", "env", "run", "ffi", "sys", "import"] as const;

/**
 * The permission kinds this process holds. A kind granted for some paths or
 * names only answers "prompt" when asked without one, so each kind is also
 * asked for what a server binary is typically granted (its working folder,
 * `prlimit`, common variables and system calls).
 */
function heldKinds(): string[] {
  const cwd = Deno.cwd();
  const probes: Record<(typeof KINDS)[number], Array<Record<string, string>>> = {
    read: [{}, { path: cwd }, { path: "/" }, { path: "/usr/bin" }],
    write: [{}, { path: cwd }, { path: "/tmp" }],
    net: [{}, { host: "127.0.0.1" }],
    env: [{}, { variable: "HOME" }, { variable: "PATH" }, { variable: "SYNTH_DATA_DIR" }],
    run: [{}, { command: "/usr/bin/prlimit" }, { command: "/bin/sh" }],
    ffi: [{}],
    sys: [{}, { kind: "statfs" }, { kind: "osRelease" }, { kind: "homedir" }],
    import: [{}],
  };
  return KINDS.filter((kind) =>
    probes[kind].some((probe) => {
      try {
        const descriptor = { name: kind, ...probe } as Deno.PermissionDescriptor;
        return Deno.permissions.querySync(descriptor).state === "granted";
      } catch {
        return false;
      }
    })
  );
}

/**
 * Drops every permission kind the call is not granted (spec/tools.md §3.2,
 * compiled mode). Within a granted kind the binary's own scope remains for
 * this process; the Worker still gets exactly the grants.
 */
function revokeUngranted(grants: Grants): void {
  for (const kind of KINDS) {
    const granted = (kind === "read" || kind === "write" || kind === "net" || kind === "env" ||
      kind === "run") && (grants[kind]?.length ?? 0) > 0;
    if (granted) continue;
    try {
      Deno.permissions.revokeSync({ name: kind } as Deno.PermissionDescriptor);
    } catch {
      // A kind this Deno does not know (import on an older one) is not held either.
    }
  }
}

interface ToolCall {
  type: "tool.call";
  callId: string;
  /** `body`: the body of an async function of `args`; `module`: a worker module exporting `run`. */
  codeType: "body" | "module";
  code: string;
  args: unknown;
  ctx?: Record<string, unknown>;
  deadlineMs: number;
}

type HostFrame =
  | ToolCall
  | { type: "sandbox.shutdown" }
  | { type: "sandbox.ping" }
  | { type: "plugin.event"; event: string; data: unknown }
  | { type: "plugin.fragments.request"; requestId: string; context: unknown }
  | { type: "plugin.ping"; requestId: string };

let token = "";
let writing: Promise<unknown> = Promise.resolve();
/** Writes a frame after every earlier one (answers of concurrent plugin calls must not interleave). */
function send(message: Record<string, unknown>): Promise<unknown> {
  writing = writing.then(() => write(message));
  return writing;
}

async function write(message: Record<string, unknown>) {
  let frame: Uint8Array;
  try {
    frame = encodeFrame({ ...message, token });
  } catch (error) {
    if (!(error instanceof FrameError) || message.type !== "tool.result") throw error;
    frame = encodeFrame({
      type: "tool.result",
      callId: message.callId,
      ok: false,
      error: {
        code: "TOOLS_OUTPUT_TOO_LARGE",
        name: "Error",
        message: "The tool's result is larger than a sandbox frame (4 MiB)",
      },
      token,
    });
  }
  await Deno.stdout.write(frame);
}

/** The Worker's permissions: the grants, every other kind off. */
function workerPermissions(grants: Grants) {
  const list = (value: string[] | undefined) => (value && value.length > 0 ? value : false);
  return {
    read: list(grants.read),
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
 * What every Worker appends: receive the call, answer once, with a coded
 * error when thrown. The answer carries the call's nonce, which only this
 * closure holds, and goes through the `postMessage` captured before any
 * tool or user code ran: code the tool runs (`code_execute`) cannot forge
 * a result. Everything used after the tool's `run` started is captured here
 * too, at module evaluation. `outOfMemory` marks an engine
 * `RangeError: Array buffer allocation failed` (its own prototype and own
 * message), the one thrown error the host treats as running out of memory.
 */
const DISPATCH = `
const __post = self.postMessage.bind(self);
const __String = String;
const __getPrototypeOf = Object.getPrototypeOf;
const __getOwnProperty = Object.getOwnPropertyDescriptor;
const __RangeErrorPrototype = RangeError.prototype;
const __failure = (error) => {
  try {
    const outOfMemory = typeof error === "object" && error !== null &&
      __getPrototypeOf(error) === __RangeErrorPrototype &&
      __getOwnProperty(error, "message")?.value === "Array buffer allocation failed";
    const code = error?.code;
    return {
      code: typeof code === "string" ? code : undefined,
      name: __String(error?.name ?? "Error"),
      message: __String(error?.message ?? error),
      ...(outOfMemory ? { outOfMemory: true } : {}),
    };
  } catch {
    return { name: "Error", message: "the tool threw something that cannot be described" };
  }
};
self.onmessage = async (event) => {
  const nonce = event.data.nonce;
  let answer;
  try {
    const data = await __run(event.data.args, event.data.ctx);
    answer = { nonce, ok: true, data: data === undefined ? null : data };
  } catch (error) {
    answer = { nonce, ok: false, error: __failure(error) };
  }
  try {
    __post(answer);
  } catch {
    __post({ nonce, ok: false, error: { name: "Error", message: "the result is not cloneable" } });
  }
};
`;

const urls = new Map<string, string>();
/** A blob URL per distinct source (the pool runs the same tools again). */
function moduleUrl(call: ToolCall): string {
  const key = `${call.codeType}\u0000${call.code}`;
  let url = urls.get(key);
  if (url === undefined) {
    const source = call.codeType === "body"
      ? `const __run = async (args) => {\n${call.code}\n};\n${DISPATCH}`
      : `${call.code}\nconst __run = run;\n${DISPATCH}`;
    url = URL.createObjectURL(new Blob([source], { type: "application/typescript" }));
    if (urls.size > 16) urls.clear();
    urls.set(key, url);
  }
  return url;
}

function runInWorker(call: ToolCall, grants: Grants): Promise<Record<string, unknown>> {
  const worker = new Worker(moduleUrl(call), {
    type: "module",
    deno: { permissions: workerPermissions(grants) },
  } as WorkerOptions);
  const nonce = crypto.randomUUID();
  return new Promise<Record<string, unknown>>((resolve) => {
    worker.onmessage = (event) => {
      const { nonce: answered, ...outcome } = (event.data ?? {}) as Record<string, unknown>;
      if (answered === nonce) resolve(outcome);
    };
    worker.onerror = (event) => {
      event.preventDefault();
      resolve({ ok: false, error: { name: "Error", message: String(event.message) } });
    };
    worker.onmessageerror = () =>
      resolve({ ok: false, error: { name: "Error", message: "the result is not cloneable" } });
    worker.postMessage({
      nonce,
      args: call.args,
      ctx: { ...call.ctx, deadlineMs: call.deadlineMs },
    });
  }).finally(() => worker.terminate());
}

/**
 * The Worker of a plugin: imports the bundle (a blob module exporting
 * `manifest` and `activate`), activates it with an API that talks to this
 * runner, and answers calls, events and fragment requests, each answer
 * tagged with the nonce only this closure holds.
 */
function pluginHarness(bundleUrl: string): string {
  return `import * as plugin from ${JSON.stringify(bundleUrl)};
const post = self.postMessage.bind(self);
let nonce = null;
const tools = new Map();
const handlers = new Map();
let fragments = null;
const api = {
  config: undefined,
  tool(name, fn) { tools.set(String(name), fn); },
  on(event, fn) { const list = handlers.get(event) ?? []; list.push(fn); handlers.set(event, list); },
  fragments(fn) { fragments = fn; },
  log(level, message) { post({ nonce, kind: "log", level: String(level), message: String(message).slice(0, 2048) }); },
};
const failure = (error) => ({
  code: typeof error?.code === "string" ? error.code : undefined,
  name: String(error?.name ?? "Error"),
  message: String(error?.message ?? error),
});
self.onmessage = async (event) => {
  const m = event.data;
  if (m.kind === "activate") {
    nonce = m.nonce;
    api.config = m.config;
    try {
      await plugin.activate(api);
      post({ nonce, kind: "ready", manifest: plugin.manifest ?? null });
    } catch (error) {
      post({ nonce, kind: "failed", error: failure(error) });
    }
  } else if (m.kind === "call") {
    const fn = tools.get(m.tool);
    try {
      if (!fn) throw Object.assign(new Error("The plugin has no tool " + m.tool), { code: "PLUGIN_TOOL_MISSING" });
      const data = await fn(m.args);
      post({ nonce, kind: "result", callId: m.callId, ok: true, data: data === undefined ? null : data });
    } catch (error) {
      post({ nonce, kind: "result", callId: m.callId, ok: false, error: failure(error) });
    }
  } else if (m.kind === "event") {
    for (const fn of handlers.get(m.event) ?? []) {
      try { await fn(m.data); } catch (error) { api.log("warn", "event handler failed: " + String(error?.message ?? error)); }
    }
  } else if (m.kind === "ping") {
    post({ nonce, kind: "pong", requestId: m.requestId });
  } else if (m.kind === "fragments") {
    let list = [];
    try { list = fragments ? await fragments(m.context) : []; } catch (error) { api.log("warn", "fragments failed: " + String(error?.message ?? error)); }
    post({ nonce, kind: "fragments", requestId: m.requestId, fragments: Array.isArray(list) ? list : [] });
  }
};
`;
}

/** Runs a third-party plugin: one Worker for the child's life, requests answered by id. */
async function runPlugin(init: Init, frames: AsyncGenerator<unknown>): Promise<void> {
  const bundleUrl = URL.createObjectURL(
    new Blob([init.code ?? ""], { type: "text/javascript" }),
  );
  const harnessUrl = URL.createObjectURL(
    new Blob([pluginHarness(bundleUrl)], { type: "text/javascript" }),
  );
  const worker = new Worker(harnessUrl, {
    type: "module",
    deno: { permissions: workerPermissions(init.grants) },
  } as WorkerOptions);
  const nonce = crypto.randomUUID();
  const { promise: activated, resolve: activatedWith } = Promise.withResolvers<
    Record<string, unknown>
  >();
  worker.onerror = (event) => {
    event.preventDefault();
    activatedWith({
      kind: "failed",
      error: { name: "Error", message: String(event.message) },
    });
  };
  worker.onmessage = (event) => {
    const { nonce: tagged, kind, ...rest } = (event.data ?? {}) as Record<string, unknown>;
    if (tagged !== nonce) return;
    if (kind === "ready" || kind === "failed") activatedWith({ kind, ...rest });
    else if (kind === "result") void send({ type: "tool.result", ...rest });
    else if (kind === "fragments") void send({ type: "plugin.fragments.response", ...rest });
    else if (kind === "log") void send({ type: "tool.log", ...rest });
    else if (kind === "pong") void send({ type: "plugin.pong", ...rest });
  };
  worker.postMessage({ kind: "activate", nonce, config: init.config ?? null });
  const started = await activated;
  if (started.kind !== "ready") {
    await send({ type: "sandbox.failed", error: started.error });
    await writing;
    Deno.exit(72);
  }
  await send({ type: "sandbox.ready", manifest: started.manifest });
  for await (const frame of frames) {
    const message = frame as HostFrame;
    switch (message.type) {
      case "sandbox.shutdown":
        await writing;
        Deno.exit(0);
        break;
      case "sandbox.ping":
        void send({ type: "sandbox.pong" });
        break;
      case "tool.call":
        worker.postMessage({
          kind: "call",
          callId: message.callId,
          tool: (message as unknown as { tool: string }).tool,
          args: message.args,
        });
        break;
      case "plugin.event":
        worker.postMessage({ kind: "event", event: message.event, data: message.data });
        break;
      case "plugin.ping":
        // Answered by the plugin's Worker: a plugin busy in a loop does not answer.
        worker.postMessage({ kind: "ping", requestId: message.requestId });
        break;
      case "plugin.fragments.request":
        worker.postMessage({
          kind: "fragments",
          requestId: message.requestId,
          context: message.context,
        });
        break;
      default:
        Deno.exit(71);
    }
  }
  await writing;
  Deno.exit(0);
}

async function main() {
  const frames = readFrames(Deno.stdin.readable);
  const first = await frames.next();
  const init = first.value as Init | undefined;
  if (!init || init.type !== "sandbox.init" || init.protocol !== 1 || !init.token) Deno.exit(70);
  token = init.token;
  if (init.revoke) revokeUngranted(init.grants);
  if (init.mode === "plugin") return await runPlugin(init, frames);
  // After a revocation the host (and its tests) can see what this process still holds.
  await send({ type: "sandbox.ready", ...(init.revoke ? { held: heldKinds() } : {}) });
  for await (const frame of frames) {
    const message = frame as HostFrame;
    if (message.type === "sandbox.shutdown") break;
    if (message.type === "sandbox.ping") {
      await send({ type: "sandbox.pong" });
      continue;
    }
    if (message.type !== "tool.call") Deno.exit(71);
    await writing;
    const outcome = await runInWorker(message, init.grants);
    await send({ type: "tool.result", callId: message.callId, ...outcome });
  }
  Deno.exit(0);
}

await main();
