import type { WorkerContext } from "@synth/kernel";

/** Sleeps, then reports the requested and the measured time. */
export async function run(
  args: { seconds: number },
  _ctx: WorkerContext,
): Promise<{ requestedSeconds: number; elapsedMs: number }> {
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, args.seconds * 1000));
  return { requestedSeconds: args.seconds, elapsedMs: Math.round(performance.now() - started) };
}
