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
  assert.equal(download.headers.get("content-disposition"), 'attachment; filename="hello.txt"');
  assert.equal(download.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(download.headers.get("x-content-type-options"), "nosniff");
  assert.equal(await download.text(), "hello, project");
  const escape = await host.request(`/api/projects/${id}/files/..%2Fx`);
  assert.equal(escape.status, 400);
  await escape.body?.cancel();
  const missing = await host.request(`/api/projects/${id}/files/nope.txt`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
});
