/**
 * `deno task chat`: a terminal chat with the mind. When a server runs on the
 * data directory it talks to that server over HTTP (the server writes its
 * address to `<dataDir>/synth.url`); otherwise it starts the same kernel in
 * this process. Every `/` line goes to the mind's command dispatcher; only
 * `/quit` is handled here.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { withTimeout } from "../clock.ts";
import { prepareDataDir } from "../data_dir.ts";
import { AppError, ConfigurationError, errorMessage, isRefusal } from "../errors.ts";
import type { Kernel } from "../kernel.ts";
import { PluginError } from "../plugin/errors.ts";
import { acquireDataDirLock, isDataDirLocked } from "../store/lock.ts";
import { openStore } from "../store/store.ts";
import { createLogger, prettySink } from "../telemetry/logger.ts";
import { type CliIo, EXIT, URL_FILE } from "./io.ts";
import { cliKernel, configRedactor, loadCliConfig } from "./serve.ts";

/** One way to reach the mind: in this process, or a running server. */
interface ChatBackend {
  describe: string;
  /**
   * The chat acts as the local administrator while sign-in is on and has users: its threads
   * belong to no signed-in user, so the dashboard and a running server show them to no one.
   */
  unlisted?: boolean;
  /** Sends a message; streams reply text through `onText`; returns the thread id and the end. */
  send(
    text: string,
    threadId: string | null,
    onText: (delta: string) => void,
  ): Promise<{ threadId: string; error?: string }>;
  command(line: string, threadId: string | null): Promise<{ ok: boolean; text: string }>;
  /** Whether the caller may continue `threadId`. */
  hasThread(threadId: string): Promise<boolean>;
  close(): Promise<void>;
}

const USAGE = "usage: deno task chat [--thread THREAD_ID] [--user USERNAME]";
const HELP = `${USAGE}

A terminal chat with the mind. With a server running on the data directory it talks to that
server (set SYNTH_API_KEY when the server needs sign-in: the key's user chats). Without one it
starts the mind in this process, as the local administrator, or as USERNAME with --user (a user of
the server's sign-in, so that their threads can be continued).

  --thread THREAD_ID  continue a thread of yours
  --user USERNAME     without a server: chat as this user
  -h, --help          this text

Lines starting with / are commands (/help lists them); /quit or end of input leaves.
`;

/** Holds log lines back while a reply is being written, so they do not break into it. */
function heldLog(write: (line: string) => void) {
  let holding = false;
  const held: string[] = [];
  return {
    write(line: string) {
      if (holding) held.push(line);
      else write(line);
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const line of held.splice(0)) write(line);
    },
  };
}

/** Runs the chat; resolves with the exit code at `/quit` or the end of input. */
export async function runChat(io: CliIo, args: readonly string[]): Promise<number> {
  let flags: { thread?: string | undefined; user?: string | undefined; help?: boolean };
  try {
    flags = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        thread: { type: "string" },
        user: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (error) {
    io.stderr(`${errorMessage(error)}\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  if (flags.help) {
    io.stdout(HELP);
    return EXIT.OK;
  }
  const loaded = loadCliConfig(io, {});
  if (typeof loaded === "number") return loaded;
  const dataDir = resolve(io.cwd, loaded.config.dataDir);
  const log = heldLog((line) => io.stderr(line));
  let backend: ChatBackend;
  try {
    if (await isDataDirLocked(dataDir).catch(() => false)) {
      if (flags.user !== undefined) {
        io.stderr(
          "--user applies only without a running server; the server's chat acts for SYNTH_API_KEY's user\n",
        );
        return EXIT.USAGE;
      }
      backend = await remoteBackend(dataDir, io.env("SYNTH_API_KEY"));
    } else backend = await localBackend(io, loaded, dataDir, log.write, flags.user);
  } catch (error) {
    if (
      error instanceof ConfigurationError ||
      (error instanceof PluginError && error.cause instanceof ConfigurationError)
    ) {
      io.stderr(`${(error instanceof PluginError ? error.cause as Error : error).message}\n`);
      return EXIT.CONFIG;
    }
    if (error instanceof ChatUserError) {
      io.stderr(`${error.message}\n`);
      return EXIT.USAGE;
    }
    io.stderr(`Cannot start the chat: ${errorMessage(error)}\n`);
    return EXIT.FAILURE;
  }
  if (flags.thread !== undefined && !(await backend.hasThread(flags.thread))) {
    await backend.close();
    io.stderr(
      `No thread ${flags.thread} of yours to continue; leave out --thread to start one${
        backend.describe.startsWith("in this process") && flags.user === undefined
          ? " (a signed-in user's thread continues with --user USERNAME)"
          : ""
      }\n`,
    );
    return EXIT.USAGE;
  }
  io.stdout(`Synth Mind chat — ${backend.describe}. Type /help for commands, /quit to leave.\n`);
  if (backend.unlisted) {
    io.stderr(
      "Sign-in is on, and without --user this chat is the local administrator's: its threads show to no signed-in user, in the dashboard or through a running server. To chat as a user, quit and start again with --user USERNAME.\n",
    );
  }
  let threadId: string | null = flags.thread ?? null;
  try {
    for (;;) {
      if (io.isTerminal) io.stdout("you> ");
      const line = await io.readLine();
      if (line === null) break;
      const text = line.trim();
      if (text === "") continue;
      if (text === "/quit" || text === "/exit") break;
      // A refused command or message is reported and the conversation goes on; anything else
      // (the server gone, the store closed) ends the chat with its error.
      try {
        if (text.startsWith("/")) {
          const result = await backend.command(text, threadId);
          io.stdout(`${result.text}\n`);
          // After a successful /forget the thread may be gone: the next message starts a new one.
          if (
            result.ok && threadId && /^\/forget\b/i.test(text) &&
            !(await backend.hasThread(threadId))
          ) threadId = null;
          continue;
        }
        io.stdout("synth> ");
        log.hold();
        try {
          const outcome = await backend.send(text, threadId, (delta) => io.stdout(delta));
          threadId = outcome.threadId;
          io.stdout(outcome.error ? `\n[${outcome.error}]\n` : "\n");
        } finally {
          log.release();
        }
      } catch (error) {
        if (!isRefusal(error)) throw error;
        io.stdout(`[${error.code}: ${error.message}]\n`);
      }
    }
  } finally {
    await backend.close();
  }
  if (threadId) {
    // The same user's thread: one given with --user is named again, or it is not theirs to open.
    const user = flags.user === undefined ? "" : ` --user ${flags.user}`;
    const where = backend.unlisted
      ? " (with no server running: it is the local administrator's)"
      : "";
    io.stdout(
      `Thread ${threadId} — continue it with: deno task chat --thread ${threadId}${user}${where}\n`,
    );
  }
  return EXIT.OK;
}

/** A `--user` the chat cannot act as. */
class ChatUserError extends Error {}

/** The kernel in this process, holding the data directory's lock. */
async function localBackend(
  io: CliIo,
  loaded: Exclude<ReturnType<typeof loadCliConfig>, number>,
  dataDir: string,
  logLine: (line: string) => void,
  username: string | undefined,
): Promise<ChatBackend> {
  const { config } = loaded;
  if (username !== undefined && !config.auth.enabled) {
    throw new ChatUserError(
      "--user needs sign-in (auth.enabled): with it off every caller is the local administrator",
    );
  }
  const log = createLogger({
    level: "warn",
    // stdout is the conversation; the kernel's warnings go to stderr, never inside a reply.
    sink: prettySink(logLine),
    clock: io.clock,
    redact: configRedactor(loaded, io),
  });
  await prepareDataDir(dataDir, log, { command: "chat" });
  const lock = await acquireDataDirLock(dataDir);
  const store = openStore({
    dataDir,
    busyTimeoutMs: config.db.busyTimeoutMs,
    clock: io.clock,
    log: log.child("store"),
    migrate: config.db.migrateOnStart,
  });
  const kernel: Kernel = cliKernel(io, loaded, { log, dataDir, store, lock });
  try {
    await kernel.start();
  } catch (error) {
    await kernel.stop();
    throw error;
  }
  let caller: { userId: string; role: "admin" | "operator" | "viewer" } = {
    userId: "local",
    role: "admin",
  };
  if (username !== undefined) {
    const user = await kernel.auth!.getUser(username.toLowerCase()).catch(async (error) => {
      if (error instanceof AppError && error.code === "USER_NOT_FOUND") return null;
      await kernel.stop(); // releases the data directory before the error ends the chat
      throw error;
    });
    const refusal = !user || !user.active
      ? `No ${user ? "active " : ""}user ${username}: "deno task admin list-users" lists them`
      : user.role === "viewer"
      ? `${user.username} is a viewer: chatting needs the operator role, as over HTTP`
      : null;
    if (refusal) {
      await kernel.stop();
      throw new ChatUserError(refusal);
    }
    caller = { userId: user!.id, role: user!.role };
  }
  const reply = kernel.llm.chains.reply[0];
  return {
    // Said once someone signs in: before the first account there is no one else to see them.
    unlisted: config.auth.enabled && username === undefined &&
      (await kernel.auth!.listUsers()).length > 0,
    describe: `in this process${
      username ? ` as ${username.toLowerCase()}` : ""
    }, profile ${kernel.mind.profile.id}, ${
      reply ? `${reply.provider.id}/${reply.model}` : "no language model configured"
    }`,
    async send(text, threadId, onText) {
      const handle = await kernel.mind.submit({ ...caller, threadId, text });
      let error: string | undefined;
      for await (const event of handle.events) {
        if (event.type === "chat.token") onText(event.delta);
        if (event.type === "turn.failed") error = `${event.code}: ${event.message}`;
      }
      await handle.done;
      return { threadId: handle.threadId, ...(error ? { error } : {}) };
    },
    async command(line, threadId) {
      const result = await kernel.commands.dispatch(line, { ...caller, threadId });
      return { ok: result.ok, text: result.output.text };
    },
    async hasThread(threadId) {
      const thread = await kernel.mind.conversations?.getThread(threadId);
      return thread?.createdBy === caller.userId;
    },
    async close() {
      // The turns' background work (forecasts, a reflection that came due) runs now, within the
      // shutdown grace, rather than being marked skipped at the next start.
      await kernel.mind.settled();
      const pending = kernel.mind.scheduler.pending;
      if (pending > 0) {
        io.stdout(`Finishing ${pending} background job${pending === 1 ? "" : "s"} first…\n`);
        await withTimeout(kernel.mind.scheduler.idle(), {
          clock: io.clock,
          ms: config.server.shutdownGraceMs,
          error: () => new Error("background jobs still running"),
        }).catch(() => io.stdout("Leaving the rest for the next start.\n"));
      }
      await kernel.stop();
    },
  };
}

/** The running server, over its HTTP API (with `SYNTH_API_KEY` when the server needs sign-in). */
async function remoteBackend(dataDir: string, apiKey: string | undefined): Promise<ChatBackend> {
  let base: string;
  try {
    base = (await Deno.readTextFile(join(dataDir, URL_FILE))).trim();
  } catch {
    throw new Error(
      `a server is using ${dataDir} but did not publish its address (${URL_FILE}); use the dashboard or stop the server`,
    );
  }
  const auth: Record<string, string> = apiKey ? { authorization: `Bearer ${apiKey}` } : {};
  /** An error answer's message, with how long to wait when the server says so. */
  const failure = async (response: Response) => {
    const body = await response.json().catch(() => ({}));
    const message = body.error?.message ?? `HTTP ${response.status}`;
    const wait = response.headers.get("retry-after");
    return wait ? `${message} (Retry-After: ${wait} s)` : message;
  };
  const me = await fetch(`${base}/api/auth/me`, { headers: auth });
  if (me.status === 401) {
    await me.body?.cancel();
    throw new Error(
      apiKey
        ? `the server at ${base} refused SYNTH_API_KEY (expired, deleted or mistyped); create a new key with POST /api/keys`
        : `the server at ${base} requires sign-in: create an API key (POST /api/keys, role operator) and set SYNTH_API_KEY`,
    );
  }
  // Who the chat acts for: the threads it may continue are theirs.
  if (!me.ok) {
    throw new Error(`the server at ${base} could not say who you are: ${await failure(me)}`);
  }
  const caller = (await me.json()).id as string;
  const json = async (path: string, body: unknown, accept = "application/json") => {
    const response = await fetch(`${base}${path}`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", accept },
      body: JSON.stringify(body),
    });
    return response;
  };
  return {
    describe: `connected to the server at ${base}`,
    async send(text, threadId, onText) {
      let thread = threadId;
      if (!thread) {
        const created = await json("/api/threads", {});
        if (!created.ok) return { threadId: "", error: await failure(created) };
        thread = (await created.json()).id as string;
      }
      const response = await json(
        `/api/threads/${thread}/turns`,
        { content: text },
        "text/event-stream",
      );
      if (!response.ok || !response.body) {
        const error = await failure(response);
        // A thread made for a message the server refused holds nothing: it goes again.
        if (!threadId) {
          const removed = await fetch(`${base}/api/threads/${encodeURIComponent(thread)}`, {
            method: "DELETE",
            headers: auth,
          });
          await removed.body?.cancel();
          if (removed.ok) return { threadId: "", error };
        }
        return { threadId: thread, error };
      }
      let error: string | undefined;
      let event = "";
      let buffer = "";
      for await (const chunk of response.body.pipeThrough(new TextDecoderStream())) {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, end).replace(/\r$/, "");
          buffer = buffer.slice(end + 1);
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) {
            const data = JSON.parse(line.slice(6));
            if (event === "chat.token") onText(data.text);
            if (event === "turn.failed") error = `${data.code}: ${data.message}`;
          }
        }
      }
      return { threadId: thread, ...(error ? { error } : {}) };
    },
    async command(line, threadId) {
      const response = await json("/api/chat", {
        message: line,
        ...(threadId ? { thread_id: threadId } : {}),
      });
      if (!response.ok) return { ok: false, text: await failure(response) };
      const body = await response.json();
      return { ok: body.success, text: body.response };
    },
    async hasThread(threadId) {
      const response = await fetch(`${base}/api/threads/${encodeURIComponent(threadId)}`, {
        headers: auth,
      });
      if (!response.ok) {
        await response.body?.cancel();
        return false;
      }
      // An administrator reads every thread, but continues only their own (as in this process).
      return (await response.json()).created_by === caller;
    },
    close: () => Promise.resolve(),
  };
}
