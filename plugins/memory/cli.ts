import type { Embedder, PluginCommand } from "@synth/kernel";
import type { MemoryConfig } from "./config.ts";
import { createReembedder, type ReembedProgress } from "./reembed.ts";

const BAR_WIDTH = 20;

/** `[#########.........] 45% 5,555/12,345  210/s ETA 32s` */
export function progressLine(progress: ReembedProgress, perSecond: number): string {
  const share = progress.total === 0 ? 1 : progress.done / progress.total;
  const filled = Math.round(share * BAR_WIDTH);
  const eta = perSecond > 0 ? Math.ceil((progress.total - progress.done) / perSecond) : null;
  return `[${"#".repeat(filled)}${".".repeat(BAR_WIDTH - filled)}] ${Math.floor(share * 100)}% ` +
    `${progress.done.toLocaleString("en-US")}/${progress.total.toLocaleString("en-US")}  ` +
    `${Math.round(perSecond)}/s${eta === null ? "" : ` ETA ${eta}s`}`;
}

/** Builds `deno task reembed` for an embedder. @default the configured `embedding` role */
export function createReembedCommand(fixed?: Embedder): PluginCommand<MemoryConfig> {
  return {
    plugin: "memory",
    description: "embed every memory with the configured embedder (resumable)",
    async run(ctx, args) {
      if (args.length > 0) {
        ctx.stderr("usage: synth-mind reembed\n");
        return 64;
      }
      const embedder = fixed ?? ctx.llm.embedder;
      const reembedder = createReembedder({
        store: ctx.store,
        embedder,
        config: ctx.config,
        clock: ctx.clock,
        ids: ctx.ids,
        log: ctx.log,
        owner: `cli:${Deno.pid}`,
      });
      if (!(await reembedder.needed())) {
        ctx.stdout(`Nothing to re-embed: the stored vectors already use ${embedder.id}.\n`);
        return 0;
      }
      let job;
      try {
        job = await reembedder.prepare();
      } catch (error) {
        ctx.stderr(
          `${
            (error as Error).message
          }: another process (the server?) is re-embedding; its progress is at GET /api/memories/stats.\n`,
        );
        return 75;
      }
      ctx.stdout(
        `Re-embedding every memory with ${embedder.id} (job ${job.id}); recall is full-text only until it finishes.\n`,
      );
      const started = ctx.clock.now();
      let lastLine = 0;
      const onProgress = (progress: ReembedProgress) => {
        const seconds = Math.max(0.001, (ctx.clock.now() - started) / 1000);
        const line = progressLine(progress, progress.done / seconds);
        if (ctx.isTerminal) ctx.stdout(`\r${line}`);
        else if (ctx.clock.now() - lastLine >= 5_000 || progress.done === progress.total) {
          lastLine = ctx.clock.now();
          ctx.stdout(`${line}\n`);
        }
      };
      try {
        const done = await reembedder.run(job.id, { signal: ctx.signal, onProgress });
        ctx.stdout(
          `${ctx.isTerminal ? "\n" : ""}Done: ${
            done.progress.done.toLocaleString("en-US")
          } memories now use ${embedder.id}.\n`,
        );
        return 0;
      } catch (error) {
        if (ctx.signal.aborted) {
          ctx.stdout(
            `${ctx.isTerminal ? "\n" : ""}Stopped; run deno task reembed again to resume.\n`,
          );
          return 130;
        }
        ctx.stderr(
          `${ctx.isTerminal ? "\n" : ""}Re-embedding failed: ${(error as Error).message}\n`,
        );
        return 1;
      }
    },
  };
}

/** `deno task reembed` with the configured embedder. */
export const reembedCommand: PluginCommand<MemoryConfig> = createReembedCommand();
