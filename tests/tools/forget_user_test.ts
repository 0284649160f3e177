/**
 * Deleting a user forgets their tool traces (docs/security.md): their runs
 * and approvals, a call still waiting for approval, and their workspace
 * with the files their calls wrote; other users' stay.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createTestHost } from "@synth/testing";
import { fileWriteTool } from "../../plugins/tool_file_write/mod.ts";
import { jsonParseTool } from "../../plugins/tool_json_parse/mod.ts";

Deno.test("a deleted user's tool runs, approvals and workspace go; another user's stay", async () => {
  await using host = await createTestHost({
    plugins: [fileWriteTool, jsonParseTool],
    config: {
      tools: {
        enabled: ["file_write", "json_parse"],
        approval: { threshold: "execute", require: ["json_parse"] },
      },
    },
  });
  const tools = host.kernel.tools;
  const write = async (userId: string) => {
    const started = await tools.startRun("file_write", {
      path: "diary.txt",
      content: `${userId}'s secret diary`,
    }, { requestedBy: userId, module: "api" });
    const result = await started.result;
    assert.equal(result.ok, true, JSON.stringify(result));
    return started.run.id;
  };
  const eveRun = await write("usr_eve");
  const bobRun = await write("usr_bob");
  // A call of eve's waiting for approval (its approval asked for).
  const { promise: asked, resolve: askedNow } = Promise.withResolvers<void>();
  const stop = host.kernel.bus.subscribe("tool.approval_request", () => askedNow());
  const waiting = await tools.startRun("json_parse", { data: "{}", path: "" }, {
    requestedBy: "usr_eve",
    module: "api",
  });
  await asked;
  stop();
  const workspaces = join(host.kernel.dataDir, "workspaces");
  assert.equal(
    await Deno.readTextFile(join(workspaces, "usr_eve", "diary.txt")),
    "usr_eve's secret diary",
  );

  const work: Promise<unknown>[] = [];
  host.kernel.bus.publish("user.deleting", {
    userId: "usr_eve",
    username: "eve",
    actor: "admin",
    waitUntil: (promise) => void work.push(promise),
  });
  await Promise.all(work);

  const waited = await waiting.result;
  assert.equal(!waited.ok && waited.error.code, "TOOLS_CANCELLED", "the waiting call ended");
  await assert.rejects(Deno.stat(join(workspaces, "usr_eve")), Deno.errors.NotFound);
  await assert.rejects(tools.getRun(eveRun), (error: { status?: number }) => error.status === 404);
  await assert.rejects(
    tools.getRun(waiting.run.id),
    (error: { status?: number }) => error.status === 404,
  );
  const approvals = await tools.listApprovals(undefined, 50, undefined, null);
  assert.deepEqual(approvals.filter((row) => row.requested_by === "usr_eve"), []);
  // Bob's run and file stay.
  assert.equal((await tools.getRun(bobRun)).status, "succeeded");
  assert.equal(
    await Deno.readTextFile(join(workspaces, "usr_bob", "diary.txt")),
    "usr_bob's secret diary",
  );
});
