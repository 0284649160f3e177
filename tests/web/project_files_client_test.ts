/**
 * The API client's workspace and version-control calls (spec/dashboard.md
 * §2, §5.4 Files): the listing and the log unwrapped, a file fetched with
 * the token under its path with each segment encoded and named by
 * `Content-Disposition` (else the path's last segment), errors as
 * {@link ApiError}, and a rollback's body.
 */
import assert from "node:assert/strict";
import { ApiClient, ApiError } from "../../web/api/client.ts";

interface Call {
  method: string;
  path: string;
  authorization: string | null;
  body: unknown;
}

function client(answers: Array<() => Response>) {
  const calls: Call[] = [];
  const api = new ApiClient({
    token: () => "tok_1",
    onSession: () => {},
    fetch: (input, init) => {
      const headers = new Headers(init?.headers);
      calls.push({
        method: init?.method ?? "GET",
        path: String(input),
        authorization: headers.get("authorization"),
        body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
      });
      const answer = answers.shift();
      if (!answer) throw new Error(`unexpected call ${init?.method} ${input}`);
      return Promise.resolve(answer());
    },
  });
  return { api, calls };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

Deno.test("projectFiles and vcsLog return the lists of their answers", async () => {
  const file = { path: "src/app.txt", bytes: 10, modified_at: null, sha256: "ab".repeat(32) };
  const commit = {
    hash: "c".repeat(40),
    subject: "wip(t1): iteration 1",
    at: "2026-01-01T00:00:00Z",
  };
  const { api, calls } = client([
    () => json(200, { files: [file] }),
    () => json(200, { commits: [commit] }),
  ]);
  assert.deepEqual(await api.projectFiles("prj_1"), [file]);
  assert.deepEqual(await api.vcsLog("prj_1"), [commit]);
  assert.deepEqual(calls.map((call) => `${call.method} ${call.path}`), [
    "GET /api/projects/prj_1/files",
    "GET /api/projects/prj_1/vcs/log",
  ]);
});

Deno.test("downloadProjectFile fetches with the token, encodes each path segment and names the file from Content-Disposition", async () => {
  const { api, calls } = client([
    () =>
      new Response("hello\n", {
        headers: {
          "content-type": "text/plain; charset=utf-8",
          "content-disposition": 'attachment; filename="read me.txt"',
        },
      }),
  ]);
  const { blob, filename } = await api.downloadProjectFile("prj_1", "notes/read me.txt");
  assert.equal(await blob.text(), "hello\n");
  assert.equal(filename, "read me.txt");
  assert.equal(calls[0]!.path, "/api/projects/prj_1/files/notes/read%20me.txt");
  assert.equal(calls[0]!.authorization, "Bearer tok_1");
});

Deno.test("downloadProjectFile falls back to the path's last segment when the answer names no file", async () => {
  const { api, calls } = client([() => new Response(new Uint8Array([0, 1, 2]))]);
  const { blob, filename } = await api.downloadProjectFile("prj_1", "bin/a#b?.dat");
  assert.equal(blob.size, 3);
  assert.equal(filename, "a#b?.dat");
  assert.equal(calls[0]!.path, "/api/projects/prj_1/files/bin/a%23b%3F.dat");
});

Deno.test("a missing file is an ApiError with the server's code", async () => {
  const { api } = client([
    () =>
      json(404, { error: { code: "NOT_FOUND", message: 'No file "gone.txt" in the workspace' } }),
  ]);
  const error = await api.downloadProjectFile("prj_1", "gone.txt").then(
    () => assert.fail("the download should have failed"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 404);
  assert.equal(error.code, "NOT_FOUND");
  assert.match(error.message, /gone\.txt/);
});

Deno.test("vcsRollback posts the commit and returns the new HEAD and the backup branch", async () => {
  const { api, calls } = client([
    () => json(200, { head: "a".repeat(40), backup_branch: "backup/20260101T000000Z" }),
  ]);
  const done = await api.vcsRollback("prj_1", "a".repeat(40));
  assert.deepEqual(done, { head: "a".repeat(40), backup_branch: "backup/20260101T000000Z" });
  assert.deepEqual(calls, [{
    method: "POST",
    path: "/api/projects/prj_1/vcs/rollback",
    authorization: "Bearer tok_1",
    body: { commit: "a".repeat(40) },
  }]);
});
