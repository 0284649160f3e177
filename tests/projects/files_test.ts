/**
 * A project's workspace (spec/projects.md §9, §16 item 17): the execute
 * step writes a file with `file_write`, rooted at the project's workspace;
 * the file is in the workspace, the iteration's artifacts and the listing,
 * and downloads as an attachment; `../x` is refused.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import { chatRequests } from "../llm/helpers.ts";
import { answer, api, projectHost, turnEnd } from "./helpers.ts";
import { call, setupAdmin, userWithRole } from "../security/helpers.ts";

Deno.test("a file written by an execute step is in the workspace, the artifacts and the listing, and downloads as an attachment; ../x is refused", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    execute: [
      {
        reply: {
          toolCalls: [{
            name: "file_write",
            args: { path: "notes/hello.txt", content: "hello, project" },
          }],
        },
      },
      answer({
        output: "Wrote the notes.",
        explanation: "",
        questions: [],
        taskProgress: 1,
        blockers: [],
      }),
    ],
  });
  // file_write is a `write` tool: with the threshold at execute it runs without waiting for approval.
  await using host = await projectHost(fake, {
    config: { tools: { approval: { threshold: "execute" } } },
  });
  const created = await api(host, "POST", "/api/projects", { template_id: "cli-tool" });
  const id = created.body.project.id as string;
  await turnEnd(
    host,
    (await api(host, "POST", `/api/projects/${id}/input`, { intent: "skip" })).body.turn_id,
  );
  const step = await api(host, "POST", `/api/projects/${id}/input`, { intent: "continue" });
  assert.equal((await turnEnd(host, step.body.turn_id)).status, "completed");

  const workspace = join(host.dataDir, "projects", id, "workspace");
  assert.equal(await Deno.readTextFile(join(workspace, "notes", "hello.txt")), "hello, project");
  const executes = chatRequests(fake).filter((request) =>
    request.headers["x-synth-purpose"] === "execute"
  );
  assert.equal(executes.length, 2, "a tool round, then the answer");
  const offered = (executes[0]!.body as { tools?: Array<{ function: { name: string } }> }).tools ??
    [];
  assert.deepEqual(offered.map((tool) => tool.function.name).sort(), [
    "file_list",
    "file_read",
    "file_write",
  ]);
  const toolMessage = (executes[1]!.body as { messages: Array<{ role: string; content: string }> })
    .messages
    .find((message) => message.role === "tool")!;
  assert.match(toolMessage.content, /^<tool_output tool="file_write"/);

  const iterations = (await api(host, "GET", `/api/projects/${id}/iterations`)).body.items;
  assert.deepEqual(iterations[0].artifacts.map((item: { path: string }) => item.path), [
    "notes/hello.txt",
  ]);
  const runs = (await api(host, "GET", "/api/runs?tool=file_write")).body.items;
  assert.equal(runs[0].project_id, id);
  assert.equal(runs[0].module, "gdil");

  const listing = (await api(host, "GET", `/api/projects/${id}/files`)).body.files;
  assert.deepEqual(listing.map((file: { path: string }) => file.path), ["notes/hello.txt"]);
  assert.match(listing[0].sha256, /^[0-9a-f]{64}$/);
  const download = await host.request(`/api/projects/${id}/files/notes/hello.txt`);
  assert.equal(download.status, 200);
  assert.equal(
    download.headers.get("content-disposition"),
    `attachment; filename="hello.txt"; filename*=UTF-8''hello.txt`,
  );
  assert.equal(download.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(download.headers.get("x-content-type-options"), "nosniff");
  assert.equal(await download.text(), "hello, project");
  // A name outside Latin-1: an ASCII fallback and the exact name (RFC 6266), never a 500.
  await Deno.writeTextFile(join(workspace, "文件 1.md"), "notes");
  const named = await host.request(`/api/projects/${id}/files/${encodeURIComponent("文件 1.md")}`);
  assert.equal(named.status, 200);
  assert.equal(
    named.headers.get("content-disposition"),
    `attachment; filename="__ 1.md"; filename*=UTF-8''%E6%96%87%E4%BB%B6%201.md`,
  );
  assert.equal(await named.text(), "notes");
  const escape = await host.request(`/api/projects/${id}/files/..%2Fx`);
  assert.equal(escape.status, 400);
  await escape.body?.cancel();
  const missing = await host.request(`/api/projects/${id}/files/nope.txt`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("deleting a user deletes their projects with their workspaces and git history; other users' stay", async () => {
  await using fake = await startFakeLlm();
  await using host = await projectHost(fake, {
    config: { auth: { enabled: true, password: { scryptLogN: 14 } } },
  });
  const admin = await setupAdmin(host);
  const adminToken = String(admin.access_token);
  const ada = await userWithRole(host, adminToken, "ada", "operator");
  const bob = await userWithRole(host, adminToken, "bob", "operator");
  const create = async (token: string) => {
    const created = await call(host, "POST", "/api/projects", {
      token,
      body: { template_id: "cli-tool", vcs: true },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return (created.body.project as { id: string }).id;
  };
  const adas = await create(String(ada.access_token));
  const bobs = await create(String(bob.access_token));
  const folder = (id: string) => join(host.dataDir, "projects", id);
  await Deno.stat(join(folder(adas), "git")); // the history exists before
  const deleted = await call(host, "DELETE", "/api/users/ada", { token: adminToken });
  assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
  await assert.rejects(Deno.stat(folder(adas)), Deno.errors.NotFound);
  const rows = await host.kernel.store.db.selectFrom("gdil_projects").select("id").execute();
  assert.deepEqual(rows.map((row) => row.id), [bobs]);
  await Deno.stat(join(folder(bobs), "git"));
});

Deno.test("a project step may call only the tools it was offered; another enabled tool is refused and never runs", async () => {
  await using fake = await startFakeLlm();
  fake.script({
    execute: [
      { reply: { toolCalls: [{ name: "calculator", args: { expression: "6 * 7" } }] } },
      answer({ output: "Done.", explanation: "", questions: [], taskProgress: 1, blockers: [] }),
    ],
  });
  await using host = await projectHost(fake);
  const id = (await api(host, "POST", "/api/projects", { template_id: "cli-tool" })).body.project
    .id as string;
  await turnEnd(
    host,
    (await api(host, "POST", `/api/projects/${id}/input`, { intent: "skip" })).body.turn_id,
  );
  const step = await api(host, "POST", `/api/projects/${id}/input`, { intent: "continue" });
  assert.equal((await turnEnd(host, step.body.turn_id)).status, "completed");
  const executes = chatRequests(fake).filter((request) =>
    request.headers["x-synth-purpose"] === "execute"
  );
  const toolMessage = (executes[1]!.body as { messages: Array<{ role: string; content: string }> })
    .messages.find((message) => message.role === "tool")!;
  assert.match(toolMessage.content, /TOOLS_UNKNOWN.*calculator is not available in project steps/);
  const runs = (await api(host, "GET", "/api/runs?tool=calculator")).body.items;
  assert.deepEqual(runs, [], "the calculator never ran");
});
