/**
 * The command dispatcher (spec/mind.md §15): one for `deno task chat` and
 * `POST /api/chat`. The kernel answers `/help`, `/state`, `/reset`,
 * `/feedback`, `/forget` and `/export`; plugins add theirs through
 * `mind.command` and list them through `mind.commands`.
 *
 * @module
 */
import { clipText } from "../text.ts";
import { isRefusal } from "../errors.ts";
import { ROLE_RANK } from "../http/validate.ts";
import type { Clock } from "../clock.ts";
import type { Ledger } from "../llm/ledger.ts";
import type { Store } from "../store/store.ts";
import type { HookRegistry } from "../plugin/hooks.ts";
import type { Logger } from "../telemetry/logger.ts";
import { type CommandSpec, MIND_HOOKS } from "./hooks.ts";
import { type Mind, storedTurn } from "./mind.ts";
import { toApiShape, toSnakeCase } from "./influence.ts";
import { messageView, threadView, turnView } from "./views.ts";
import { stripConfidenceTags } from "./confidence.ts";
import type { Command, CommandResult } from "./types.ts";
import { jobView } from "./scheduler.ts";
import type { ToolService } from "../tools/service.ts";
import { firstRequiredString, parseToolCommand, ToolCommandError } from "../tools/command.ts";

/** The kernel's own commands. */
export const KERNEL_COMMANDS: readonly CommandSpec[] = [
  {
    name: "help",
    usage: "/help [command]",
    description: "the commands you can use",
    role: "viewer",
  },
  {
    name: "state",
    usage: "/state",
    description: "the mind's state, and this thread's inside a thread",
    role: "viewer",
  },
  {
    name: "reset",
    usage: "/reset",
    description: "earlier messages leave the prompt; identity, narrative, affect and memories stay",
    role: "operator",
  },
  {
    name: "feedback",
    usage: "/feedback good|bad [note]",
    description: "rate the last reply of this thread",
    role: "operator",
  },
  {
    name: "forget",
    usage: "/forget <memoryId> | thread",
    description: "delete one memory, or this thread and everything derived from it",
    role: "operator",
  },
  {
    name: "export",
    usage: "/export [mind]",
    description:
      "your threads, memories and derived records as JSON; mind (admin) adds the narrative versions, milestones, reflections and ledger",
    role: "operator",
  },
  {
    name: "tools",
    usage: "/tools",
    description: "the tools with their risk, arguments and whether they need approval",
    role: "viewer",
  },
  {
    name: "tool",
    usage: "/tool <name> {json} | (key='v') | <text>",
    description: "run a tool now; you count as its approver",
    role: "operator",
  },
];

/** The usage column's width in `/help`. */
const USAGE_WIDTH = 34;

/** A command's `/help` line: its description in a column; below a usage too long for it. */
function helpLine(spec: { usage: string; description: string }): string {
  return spec.usage.length < USAGE_WIDTH
    ? `${spec.usage.padEnd(USAGE_WIDTH)} ${spec.description}`
    : `${spec.usage}\n${" ".repeat(USAGE_WIDTH + 1)}${spec.description}`;
}

/** A state value as one short piece of text: numbers to 3 decimals, lists by their length. */
function stateValue(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (Array.isArray(value)) return `${value.length} item${value.length === 1 ? "" : "s"}`;
  if (typeof value === "string") return clipText(value, 60);
  return String(value);
}

/**
 * Each module's state on a line of its own, `  module: key=value, …` (nested objects one level
 * down as `key.inner=value`), for `/state` in a terminal. Keys in `skip` are left out. Times kept
 * in epoch ms (the earlier project's shapes) read as RFC 3339, as the API writes them.
 */
export function stateLines(
  state: Record<string, unknown>,
  skip: ReadonlySet<string> = new Set(),
): string[] {
  const lines: string[] = [];
  for (const [module, value] of Object.entries(toApiShape(state) as Record<string, unknown>)) {
    if (skip.has(module) || value === undefined) continue;
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      lines.push(`  ${module}: ${stateValue(value)}`);
      continue;
    }
    const parts: string[] = [];
    for (const [key, inner] of Object.entries(value)) {
      if (inner !== null && typeof inner === "object" && !Array.isArray(inner)) {
        for (const [innerKey, leaf] of Object.entries(inner)) {
          if (leaf === null || typeof leaf !== "object" || Array.isArray(leaf)) {
            parts.push(`${key}.${innerKey}=${stateValue(leaf)}`);
          }
        }
      } else parts.push(`${key}=${stateValue(inner)}`);
    }
    lines.push(`  ${module}: ${parts.join(", ") || "–"}`);
  }
  return lines;
}

/** Splits a command line shell-style: quotes group, backslash escapes. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let current = "";
  let quote: string | null = null;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === "\\" && i + 1 < line.length && quote !== "'") {
      current += line[++i];
      started = true;
    } else if (quote) {
      if (char === quote) quote = null;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      started = true;
    } else if (/\s/.test(char)) {
      if (started) out.push(current);
      current = "";
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (started) out.push(current);
  return out;
}

/** Levenshtein distance (small strings). */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** Who runs a command and where. */
export interface CommandCaller {
  userId: string;
  role: "viewer" | "operator" | "admin";
  threadId: string | null;
}

/** The dispatcher. */
export interface CommandDispatcher {
  /** Runs a `/…` line. */
  dispatch(line: string, caller: CommandCaller): Promise<CommandResult>;
  /** The commands a role may use. */
  list(role: CommandCaller["role"]): Promise<CommandSpec[]>;
}

/** Creates the dispatcher. */
export function createCommandDispatcher(
  options: {
    mind: Mind;
    hooks: HookRegistry;
    store: Store;
    /** The ledger, written out before an export reads it. */
    ledger: Pick<Ledger, "flush">;
    clock: Clock;
    log: Logger;
    signal: AbortSignal;
    /** The tool host (`/tools`, `/tool`). */
    tools?: ToolService;
  },
): CommandDispatcher {
  const { mind, hooks, store, clock } = options;

  async function list(role: CommandCaller["role"]): Promise<CommandSpec[]> {
    const plugin: CommandSpec[] = [];
    for (const entry of hooks.handlers(MIND_HOOKS.commands)) {
      try {
        plugin.push(
          ...(await entry.run(undefined, { hook: "mind.commands", signal: options.signal }) ?? []),
        );
      } catch (error) {
        options.log.warn("a plugin failed to list its commands", { plugin: entry.plugin, error });
      }
    }
    return [...KERNEL_COMMANDS, ...plugin].filter((spec) =>
      ROLE_RANK[role] >= ROLE_RANK[spec.role]
    );
  }

  const ok = (command: string, text: string, data?: unknown): CommandResult => ({
    command,
    ok: true,
    output: { text, ...(data !== undefined ? { data } : {}) },
  });
  const refused = (command: string, text: string, data?: unknown): CommandResult => ({
    command,
    ok: false,
    output: { text, ...(data !== undefined ? { data } : {}) },
  });
  // Said to people in the dashboard and the terminal; a script learns the field from `data`.
  const needThread = (command: string) =>
    refused(
      command,
      `/${command} works inside a conversation: open one, or send a message first`,
      { field: "thread_id" },
    );

  async function kernelCommand(command: Command): Promise<CommandResult | undefined> {
    const { name, args, threadId } = command;
    switch (name) {
      case "help": {
        const specs = await list(command.role);
        if (args[0]) {
          const spec = specs.find((item) => item.name === args[0]!.replace(/^\//, ""));
          return spec
            ? ok(name, `${spec.usage} — ${spec.description}`, spec)
            : refused(name, `No command "${args[0]}"`);
        }
        return ok(
          name,
          specs.map((spec) => helpLine(spec)).join("\n"),
          specs,
        );
      }
      case "state": {
        const affect = mind.affect();
        const data: Record<string, unknown> = {
          profile: mind.profile.id,
          affect,
          turn_count: mind.turnCount,
          queue: mind.queueLength,
        };
        Object.assign(data, await mind.state("mind", { userId: command.userId }));
        if (threadId) {
          data.thread = await mind.state("thread", { threadId, userId: command.userId });
        }
        // snake_case throughout, as `GET /api/state` shows the same modules' state.
        const { thread, ...modules } = toSnakeCase(data) as Record<string, unknown>;
        return ok(
          name,
          [
            `mood ${affect.mood} (p ${affect.p.toFixed(2)}, a ${affect.a.toFixed(2)}, d ${
              affect.d.toFixed(2)
            }); profile ${mind.profile.id}; ${mind.turnCount} turn${
              mind.turnCount === 1 ? "" : "s"
            }`,
            ...stateLines(modules, new Set(["profile", "affect", "turn_count", "queue"])),
            ...(thread ? ["this thread:", ...stateLines(thread as Record<string, unknown>)] : []),
          ].join("\n"),
          { ...modules, ...(thread ? { thread } : {}) },
        );
      }
      case "reset": {
        if (!threadId) return needThread(name);
        await mind.reset(threadId);
        return ok(
          name,
          "Earlier messages of this thread no longer reach the prompt. Identity, narrative, mood and memories stay.",
        );
      }
      case "feedback": {
        if (!threadId) return needThread(name);
        const value = args[0];
        if (value !== "good" && value !== "bad") {
          return refused(name, "Usage: /feedback good|bad [note]");
        }
        const result = await mind.feedback({
          userId: command.userId,
          threadId,
          value,
          ...(args.length > 1 ? { note: args.slice(1).join(" ") } : {}),
        });
        return ok(
          name,
          result.replaced
            ? `Feedback changed to ${value}.`
            : `Thanks — feedback ${value} recorded.`,
          { turn_id: result.turnId, replaced: result.replaced },
        );
      }
      case "forget": {
        const target = args[0];
        if (!target) return refused(name, "Usage: /forget <memoryId> | thread");
        if (target === "thread") {
          if (!threadId) return needThread(name);
          const { deleted } = await mind.forgetThread(threadId, {
            actor: command.userId,
            derived: true,
          });
          return ok(name, `This thread and what was derived from it are forgotten.`, {
            deleted,
            thread_id: threadId,
          });
        }
        let deleted = 0;
        for (const entry of hooks.handlers(MIND_HOOKS.forget)) {
          const result = await entry.run({ userId: command.userId, memoryId: target }, {
            hook: "mind.forget",
            signal: options.signal,
          });
          deleted += result?.deleted ?? 0;
        }
        return deleted > 0
          ? ok(name, `Memory ${target} is forgotten.`, { deleted })
          : refused(name, `No memory ${target} of yours`);
      }
      case "tools": {
        const tools = options.tools?.list() ?? [];
        if (tools.length === 0) return ok(name, "No tools are registered.", []);
        return ok(
          name,
          tools.map((tool) => {
            const properties = Object.keys(
              (tool.parameters.properties ?? {}) as Record<string, unknown>,
            );
            const flags = [
              tool.risk,
              tool.enabled ? null : "disabled",
              tool.requires_approval ? "needs approval" : null,
            ].filter(Boolean).join(", ");
            return `${tool.name}(${properties.join(", ")}) [${flags}] — ${tool.description}`;
          }).join("\n"),
          tools,
        );
      }
      case "tool": {
        if (!options.tools) return refused(name, "No tools are registered.");
        let parsed;
        try {
          parsed = parseToolCommand(command.raw.trim().replace(/^\/tool\b/i, ""));
        } catch (error) {
          if (error instanceof ToolCommandError) return refused(name, error.message);
          throw error;
        }
        let args: unknown = parsed.args;
        if (parsed.form === "text") {
          const tool = options.tools.list().find((item) => item.name === parsed.name);
          const key = tool ? firstRequiredString(tool.parameters) : null;
          if (tool && !key) {
            return refused(
              name,
              `${parsed.name} has no text argument; give its arguments as {json}`,
            );
          }
          args = key ? { [key]: (parsed.args as { text: string }).text } : {};
        }
        let started;
        try {
          started = await options.tools.startRun(parsed.name, args, {
            requestedBy: command.userId,
            module: "command",
            threadId: command.threadId,
            approverId: command.userId,
          });
        } catch (error) {
          const coded = error as { code?: string; message?: string };
          if (typeof coded.code === "string" && coded.code.startsWith("TOOLS_")) {
            return refused(name, coded.message ?? coded.code, { code: coded.code });
          }
          throw error;
        }
        const result = await started.result;
        const data = { run_id: started.run.id, ...result };
        return result.ok
          ? ok(name, JSON.stringify(result.data, null, 2), data)
          : refused(name, `${result.error.code}: ${result.error.message}`, data);
      }
      case "export": {
        if (args.length > 1 || (args[0] !== undefined && args[0] !== "mind")) {
          return refused(name, "Usage: /export [mind]");
        }
        const scope = args[0] === "mind" ? "mind" : "user";
        if (scope === "mind" && command.role !== "admin") {
          return refused(name, "/export mind needs the admin role", { code: "FORBIDDEN" });
        }
        const data = await exportData(command.userId, scope);
        return ok(name, JSON.stringify(data, null, 2), data);
      }
    }
    return undefined;
  }

  async function exportData(userId: string, scope: "user" | "mind") {
    const conversations = mind.conversations;
    const threads = conversations
      ? await conversations.listThreads(userId, {
        includeArchived: true,
        limit: Number.MAX_SAFE_INTEGER,
      })
      : [];
    const threadIds = threads.map((thread) => thread.id);
    const all = Number.MAX_SAFE_INTEGER;
    const exported: Record<string, unknown> = {
      exported_at: new Date(clock.now()).toISOString(),
      user_id: userId,
      // The API's shapes (spec/server.md §2, §4.3), with what a message's tool calls were.
      threads: await Promise.all(threads.map(async (thread) => ({
        ...threadView(thread),
        messages:
          (await conversations!.threadWindow(thread.id, { maxTokens: all, maxMessages: all }))
            .map((message) => ({
              ...messageView(message, stripConfidenceTags(message.text)),
              ...(message.toolCalls ? { tool_calls: message.toolCalls } : {}),
              ...(message.toolCallId ? { tool_call_id: message.toolCallId } : {}),
            })),
      }))),
      turns: (await store.db.selectFrom("mind_turns").selectAll().where("user_id", "=", userId)
        .orderBy("seq").execute()).map((row) => ({
          ...turnView(storedTurn(row)),
          policy: row.policy ? toApiShape(JSON.parse(row.policy)) : null,
          state_after: row.state_after ? toApiShape(JSON.parse(row.state_after)) : null,
        })),
      influence: threadIds.length
        ? (await store.db.selectFrom("mind_influence").selectAll()
          .where("thread_id", "in", threadIds).orderBy("turn_id").execute())
          .map((row) => toApiShape(JSON.parse(row.data)))
        : [],
    };
    for (const entry of hooks.handlers(MIND_HOOKS.export)) {
      const value = await entry.run({ userId, threadIds, scope }, {
        hook: "mind.export",
        signal: options.signal,
      });
      // Each plugin gives its part in its own shape: the psyche modules' in the API's conventions,
      // the memory plugin's as its NDJSON export's lines (which import reads back).
      if (value) exported[entry.plugin] = value;
    }
    if (scope === "mind") {
      await options.ledger.flush();
      exported.mind = {
        profile: mind.profile.id,
        identity: mind.profile.identity,
        ledger: toApiShape(
          await store.db.selectFrom("mind_ledger").selectAll().orderBy("at").execute(),
        ),
      };
    }
    return exported;
  }

  /** Queues a command's jobs; with `await`, reports how the first one ended. */
  async function startJobs(result: CommandResult): Promise<CommandResult> {
    const { jobs, await: wait, ...rest } = result;
    if (!jobs?.length) return rest;
    const ids: string[] = [];
    for (const job of jobs) ids.push(await mind.scheduler.enqueue(job));
    const data = { ...(rest.output.data as Record<string, unknown> | undefined), job_ids: ids };
    if (!wait) return { ...rest, output: { ...rest.output, data } };
    const record = await mind.scheduler.wait(ids[0]!);
    const skipped = record.status === "skipped" ? `skipped: ${record.reason}` : null;
    return {
      ...rest,
      ok: record.status === "done",
      output: {
        text: skipped ??
          (record.status === "failed"
            ? `failed: ${record.note ?? "see the job"}`
            : record.note ?? rest.output.text),
        data: { ...data, job: jobView(record) },
      },
    };
  }

  return {
    list,
    async dispatch(line, caller) {
      mind.noteActivity(); // commands count as activity for idleness (§15)
      const parts = splitArgs(line.trim().replace(/^\//, ""));
      const name = (parts[0] ?? "").toLowerCase();
      const command: Command = {
        name,
        args: parts.slice(1),
        raw: line,
        userId: caller.userId,
        role: caller.role,
        threadId: caller.threadId,
      };
      const specs = await list("admin");
      const spec = specs.find((item) => item.name === name);
      if (spec && ROLE_RANK[caller.role] < ROLE_RANK[spec.role]) {
        return refused(name, `/${name} needs the ${spec.role} role`, { code: "FORBIDDEN" });
      }
      try {
        const kernel = await kernelCommand(command);
        if (kernel) return kernel;
        const answered = await hooks.first(MIND_HOOKS.command, command);
        if (answered) return await startJobs(answered.value);
      } catch (error) {
        // A refusal the caller can act on (no reply to rate yet, an unknown thread) is the
        // command's answer, in the terminal as over HTTP. A fault, and a 429 (its Retry-After
        // belongs on the response), stay errors.
        if (!isRefusal(error) || error.status === 429) throw error;
        return refused(name, error.message, {
          code: error.code,
          ...(error.field ? { field: error.field } : {}),
          ...(error.details !== undefined ? { details: error.details } : {}),
        });
      }
      const suggestions = specs.map((item) => item.name)
        .filter((candidate) => editDistance(candidate, name) <= 2);
      return {
        command: name,
        ok: false,
        output: {
          text: `Unknown command /${name}.${
            suggestions.length
              ? ` Did you mean ${suggestions.map((item) => `/${item}`).join(", ")}?`
              : ""
          } Type /help for the list.`,
          data: { code: "MIND_UNKNOWN_COMMAND", suggestions },
        },
      };
    },
  };
}
