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
import { call, setupAdmin, userWithRole } from "../security/helpers.ts";

Deno.test("a deleted user's tool runs, approvals and workspace go; another user's stay", async () => {
  await using host = await createTestHost({
    plugins: [fileWriteTool, jsonParseTool],
    config: {
      auth: { enabled: true, password: { scryptLogN: 14 } },
      tools: {
        enabled: ["file_write", "json_parse"],
        approval: { threshold: "execute", require: ["json_parse"] },
      },
    },
  });
  const admin = (await setupAdmin(host)).access_token as string;
  const idOf = async (name: string) =>
    ((await userWithRole(host, admin, name, "operator")).user as { id: string }).id;
  const eve = await idOf("eve");
  const bob = await idOf("bob");
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
  const eveRun = await write(eve);
  const bobRun = await write(bob);
  // A call of eve's waiting for approval (its approval asked for).
  const { promise: asked, resolve: askedNow } = Promise.withResolvers<void>();
  const stop = host.kernel.bus.subscribe("tool.approval_request", () => askedNow());
  const waiting = await tools.startRun("json_parse", { data: "{}", path: "" }, {
    requestedBy: eve,
    module: "api",
  });
  await asked;
  stop();
  const workspaces = join(host.kernel.dataDir, "workspaces");
  assert.equal(
    await Deno.readTextFile(join(workspaces, eve, "diary.txt")),
    `${eve}'s secret diary`,
  );

  const deleted = await call(host, "DELETE", "/api/users/eve", { token: admin });
  assert.equal(deleted.status, 204, JSON.stringify(deleted.body));

  const waited = await waiting.result;
  assert.equal(!waited.ok && waited.error.code, "TOOLS_CANCELLED", "the waiting call ended");
  await assert.rejects(Deno.stat(join(workspaces, eve)), Deno.errors.NotFound);
  await assert.rejects(tools.getRun(eveRun), (error: { status?: number }) => error.status === 404);
  await assert.rejects(
    tools.getRun(waiting.run.id),
    (error: { status?: number }) => error.status === 404,
  );
  const approvals = await tools.listApprovals(undefined, 50, undefined, null);
  assert.deepEqual(approvals.filter((row) => row.requested_by === eve), []);
  // Bob's run and file stay.
  assert.equal((await tools.getRun(bobRun)).status, "succeeded");
  assert.equal(
    await Deno.readTextFile(join(workspaces, bob, "diary.txt")),
    `${bob}'s secret diary`,
  );
});
