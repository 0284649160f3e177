/**
 * `gdil` (spec/projects.md): goal-directed projects — a phase machine from a
 * one-line description (or one of ten templates) through clarifying
 * questions, a validated roadmap and iterations to an exit with a summary,
 * driven by chat, slash commands or the REST routes, every step a turn of
 * the mind.
 *
 * @module
 */
import {
  type Command,
  type CommandResult,
  type CommandSpec,
  type ConversationPort,
  definePlugin,
  MIND_HOOKS,
} from "@synth/kernel";
import { GDIL_CONFIG, type GdilConfig } from "./config.ts";
import { ProjectRepo } from "./repo.ts";
import { projectRoutes } from "./routes.ts";
import { fileRoutes } from "./files.ts";
import { type Caller, GdilService } from "./service.ts";
import { findTemplate, loadTemplates, templateView } from "./templates.ts";
import type { Template } from "./types.ts";

const COMMANDS: CommandSpec[] = [
  {
    name: "project",
    usage:
      "/project <description> | new | status | switch | pause | resume | archive | continue [n] | retry | template | rollback <commit>",
    description: "start and drive a project",
    role: "operator",
  },
  { name: "projects", usage: "/projects [all]", description: "your projects", role: "viewer" },
  {
    name: "templates",
    usage: "/templates [category]",
    description: "project templates",
    role: "viewer",
  },
  { name: "template", usage: "/template <id>", description: "a template's tasks", role: "viewer" },
];

const RESERVED = new Set([
  "new",
  "status",
  "switch",
  "pause",
  "resume",
  "archive",
  "continue",
  "retry",
  "template",
  "rollback",
]);

/** Asking for the usage rather than naming a project, when alone after /project. */
const HELP_WORDS = new Set(["help", "-h", "--help", "?"]);

export const gdilPlugin = definePlugin<GdilConfig, GdilService>({
  manifest: {
    id: "gdil",
    version: "1.0.0",
    isolation: "in_process",
    httpBase: "/api",
    dependsOn: ["memory"],
    configSchema: GDIL_CONFIG,
  },
  async setup(ctx) {
    const templates: Template[] = await loadTemplates([...ctx.config.templateDirs]);
    const list = () => templates;
    const find = (ref: string) => findTemplate(templates, ref);
    const repo = new ProjectRepo(ctx.db);
    let port: ConversationPort | null = null;
    const service = new GdilService({
      ctx,
      repo,
      templates: list,
      conversations: async () => {
        port ??= (await ctx.hooks.first(MIND_HOOKS.conversations, undefined))?.value ?? null;
        if (!port) throw new Error("no conversation store (the memory plugin)");
        return port;
      },
    });
    projectRoutes(ctx.http, service, list, find);
    fileRoutes(ctx.http, service, ctx.dataDir);
    // A deleted user's projects go with them (rows, workspaces, git history).
    ctx.bus.subscribe("user.deleting", (event) => {
      event.data.waitUntil(service.forgetOwner(event.data.userId));
    });
    // A deleted thread keeps no project's focus; a project it was home to moves to a new
    // thread at its next use (`GdilService.input`, resume, focus).
    ctx.hooks.on(MIND_HOOKS.forget, async ({ threadId }) => {
      if (!threadId) return { deleted: 0 };
      return { deleted: await repo.unfocusThread(threadId) };
    });
    ctx.hooks.on(MIND_HOOKS.reply, (view, { signal }) => service.claim(view, signal));
    ctx.hooks.on(MIND_HOOKS.commands, () => COMMANDS);
    // `GET /api/state`'s legacy `project` and `current_subtask`: the thread's focused project.
    ctx.hooks.on(MIND_HOOKS.state, async (request) => {
      if (request.scope !== "thread" || !request.threadId || !request.userId) return undefined;
      const focused = await repo.focused(request.userId, request.threadId);
      const project = focused ? await repo.get(focused) : null;
      if (!project) return undefined;
      const summary = await service.summary(project);
      const current = summary.current_task as { name: string } | null;
      return {
        project: {
          id: project.id,
          name: project.name,
          phase: project.phase,
          progress: summary.progress,
        },
        current_subtask: current?.name ?? null,
      };
    });
    ctx.hooks.on(MIND_HOOKS.command, (command) => runCommand(command, service, list, find));
    // Steps a crash or restart interrupted are recorded and cleared.
    await service.recover();
    return service;
  },
});

/** The §8 commands. */
async function runCommand(
  command: Command,
  service: GdilService,
  templates: () => Template[],
  find: (ref: string) => Template,
): Promise<CommandResult | undefined> {
  const name = command.name;
  if (!["project", "projects", "templates", "template"].includes(name)) return undefined;
  const caller: Caller = { userId: command.userId, role: command.role };
  const ok = (text: string, data?: unknown): CommandResult => ({
    command: name,
    ok: true,
    output: { text, ...(data !== undefined ? { data } : {}) },
  });
  const fail = (text: string, data?: unknown): CommandResult => ({
    command: name,
    ok: false,
    output: { text, ...(data !== undefined ? { data } : {}) },
  });
  try {
    if (name === "projects") {
      const items = await service.list(caller, { includeArchived: command.args[0] === "all" });
      if (items.length === 0) {
        return ok("No projects yet. Start one with /project <description>.", []);
      }
      return ok(
        items.map((item) =>
          `${item.short_id}  ${item.name}  ${item.phase}  ${
            Math.round(Number(item.progress) * 100)
          } %${(item.focused_in as string[]).includes(command.threadId ?? "") ? "  *" : ""}`
        ).join("\n"),
        items,
      );
    }
    if (name === "templates") {
      const category = command.args.join(" ").trim().toLowerCase();
      const all = templates();
      const shown = all.filter((item) => !category || item.category.toLowerCase() === category);
      if (shown.length === 0) {
        const categories = [...new Set(all.map((item) => item.category))].sort();
        return fail(
          `No template is in the category "${category}". Categories: ${categories.join(", ")}.`,
          { code: "GDIL_TEMPLATE_CATEGORY_NOT_FOUND", categories },
        );
      }
      return ok(
        shown.map((item) =>
          `${item.id} — ${item.name} (${item.category}, ${item.tasks.length} tasks)`
        ).join("\n"),
        shown.map((item) => ({ id: item.id, name: item.name, category: item.category })),
      );
    }
    if (name === "template") {
      if (!command.args[0]) return fail("Usage: /template <id>");
      const template = find(command.args[0]);
      return ok(
        [
          `${template.name} (${template.category}) — ${template.description}`,
          ...template.tasks.map((task, i) =>
            `${i + 1}. ${task.name} (P${task.priority})${
              task.dependsOn.length ? ` ← ${task.dependsOn.join(", ")}` : ""
            }`
          ),
          `Questions: ${template.questions.join(" | ")}`,
        ].join("\n"),
        templateView(template),
      );
    }
    // /project …
    const [first, ...rest] = command.args;
    const word = (first ?? "").toLowerCase();
    const ref = rest[0];
    /** The project `given` names, else the one focused in this thread. */
    const focused = async (given: string | undefined = ref) => {
      if (given) return given;
      const listed = await service.list(caller, {});
      const current = listed.find((item) =>
        (item.focused_in as string[]).includes(command.threadId ?? "")
      );
      if (!current) throw new Error("No project is focused here; give its id");
      return String(current.id);
    };
    if (!first) return fail(`Usage: ${COMMANDS[0]!.usage}`);
    // "/project help" alone asks how to use it; "/project help me write a CLI" is a description.
    if (rest.length === 0 && HELP_WORDS.has(word)) {
      return ok(
        `Usage: ${COMMANDS[0]!.usage}\n` +
          "Start one with /project <description> or /project template <id>; " +
          "to start a project called that, use /project new help.",
      );
    }
    if (!RESERVED.has(word) || (word === "new")) {
      const description = (word === "new" ? rest : command.args).join(" ").trim();
      if (!description) return fail("Usage: /project new <description>");
      const created = await service.create(caller, {
        description,
        ...(command.threadId ? { threadId: command.threadId } : {}),
      });
      return ok(
        `Started **${created.project.name}** (${created.project.id}). I'll ask a few questions first.`,
        {
          project_id: created.project.id,
          turn: created.turn,
        },
      );
    }
    const usage = () =>
      fail(
        `Usage: /project ${word} ${
          word === "continue"
            ? "[n]"
            : word === "template"
            ? "<templateId> [customization]"
            : word === "rollback"
            ? "<commit>"
            : "[ref]"
        }. ` +
          `To start a project called that, use /project new ${command.args.join(" ")}`,
      );
    switch (word) {
      case "status": {
        if (rest.length > 1) return usage();
        const project = await service.resolve(caller, await focused());
        const summary = await service.summary(project);
        const current = summary.current_task as { name: string } | null;
        const error = summary.last_error as { message: string } | null;
        return ok(
          `${project.name}: ${project.phase}, ${
            Math.round(Number(summary.progress) * 100)
          } %, ${summary.tasks_done}/${summary.tasks_total} tasks; ` +
            `current task: ${current?.name ?? "none yet"}; awaiting: ${summary.awaiting}` +
            (error ? `; last error: ${error.message}` : ""),
          summary,
        );
      }
      case "switch":
      case "pause":
      case "resume":
      case "archive": {
        if (rest.length > 1 || (word !== "pause" && word !== "resume" && !ref)) return usage();
        const target = word === "switch" ? ref! : await focused();
        const result = await service.transition(
          caller,
          target,
          word === "switch" ? "focus" : word,
          command.threadId ?? undefined,
        );
        return ok(
          `${result.project.name}: ${result.project.phase}${result.changed ? "" : " (no change)"}`,
        );
      }
      case "continue":
      case "retry": {
        const steps = word === "continue" && ref ? Number(ref) : 1;
        if (word === "continue" && ref && (!Number.isInteger(steps) || steps < 1 || steps > 20)) {
          return usage();
        }
        const listed = await service.list(caller, {});
        const current = listed.find((item) =>
          (item.focused_in as string[]).includes(command.threadId ?? "")
        );
        if (!current) return fail("No project is focused here; use /project switch <id> first");
        const turn = await service.input(caller, String(current.id), {
          intent: word === "retry" ? "retry" : "continue",
          steps,
        });
        return ok(
          `Queued ${word === "retry" ? "a retry" : `${steps} step(s)`} for ${current.name}.`,
          turn,
        );
      }
      case "template": {
        if (!ref) return usage();
        const customization = rest.slice(1).join(" ").trim();
        const created = await service.create(caller, {
          templateId: ref,
          ...(customization ? { customization } : {}),
          ...(command.threadId ? { threadId: command.threadId } : {}),
        });
        return ok(
          `Started **${created.project.name}** from the template. Answer the questions, or say "skip" to start with the plan as is.\n` +
            created.project.questions.map((question, i) => `${i + 1}. ${question}`).join("\n"),
          { project_id: created.project.id },
        );
      }
      case "rollback": {
        if (!ref || rest.length > 1) return usage();
        const done = await service.rollback(caller, await focused(undefined), ref);
        return ok(
          `Rolled back to ${
            done.head.slice(0, 12)
          }; the previous state is on ${done.backup_branch}.`,
          done,
        );
      }
    }
    return usage();
  } catch (error) {
    const coded = error as { code?: string; message?: string };
    return fail(coded.message ?? String(error), coded.code ? { code: coded.code } : undefined);
  }
}
