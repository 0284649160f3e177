/**
 * Edges of the projects API found by trying it as a user: a blank description is refused before
 * anything is written, events page exactly and refuse a cursor they did not give, and the short
 * id a project is shown with is unique among its owner's projects.
 */
import assert from "node:assert/strict";
import { startFakeLlm } from "../fakes/llm/mod.ts";
import type { TestHost } from "@synth/testing";
import { api, projectHost } from "./helpers.ts";

Deno.test("a blank description or name is 400 naming the field, and no project is created", async () => {
  await using fake = await startFakeLlm();
  await using host = await projectHost(fake);
  for (const body of [{ description: "   " }, { template_id: "api", name: " \n " }]) {
    const refused = await api(host, "POST", "/api/projects", body);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error.field, "description" in body ? "description" : "name");
  }
  assert.deepEqual((await api(host, "GET", "/api/projects")).body.items, []);
  const threads = await host.kernel.mind.conversations!.listThreads("local");
  assert.deepEqual(threads, [], "no thread was opened for a refused project");
});

Deno.test("project events page exactly: no cursor after the last, and a foreign cursor is 400", async () => {
  await using fake = await startFakeLlm();
  await using host = await projectHost(fake);
  const id = (await api(host, "POST", "/api/projects", { template_id: "api" })).body.project.id;
  const all = (await api(host, "GET", `/api/projects/${id}/events?limit=200`)).body;
  assert.ok(all.items.length >= 2, JSON.stringify(all));
  assert.equal(all.next_cursor, null);
  const exact = (await api(host, "GET", `/api/projects/${id}/events?limit=${all.items.length}`))
    .body;
  assert.equal(exact.items.length, all.items.length);
  assert.equal(exact.next_cursor, null, "a page that holds the last event has no cursor");
  const first = (await api(host, "GET", `/api/projects/${id}/events?limit=1`)).body;
  assert.equal(first.next_cursor, String(all.items[0].seq));
  const second =
    (await api(host, "GET", `/api/projects/${id}/events?limit=1&cursor=${first.next_cursor}`))
      .body;
  assert.equal(second.items[0].seq, all.items[1].seq);
  const foreign = await api(host, "GET", `/api/projects/${id}/events?cursor=abc`);
  assert.equal(foreign.status, 400);
  assert.equal(foreign.body.error.field, "cursor");
});

Deno.test("projects created in the same instant are shown with different short ids", async () => {
  await using fake = await startFakeLlm();
  await using host = await projectHost(fake);
  // The fake clock stands still: both ids share the ULID's time part.
  const a = (await api(host, "POST", "/api/projects", { template_id: "api" })).body.project;
  const b = (await api(host, "POST", "/api/projects", { template_id: "api" })).body.project;
  const shownA = (await api(host, "GET", `/api/projects/${a.id}`)).body.short_id;
  const shownB = (await api(host, "GET", `/api/projects/${b.id}`)).body.short_id;
  assert.notEqual(shownA, shownB);
  for (const [short, id] of [[shownA, a.id], [shownB, b.id]]) {
    assert.equal((await api(host, "GET", `/api/projects/${short}`)).body.id, id, short);
  }
});

Deno.test("the project list pages newest first, ties by id, and refuses a foreign cursor", async () => {
  await using fake = await startFakeLlm();
  await using host = await projectHost(fake);
  for (let i = 0; i < 3; i++) await api(host, "POST", "/api/projects", { template_id: "api" });
  const one = (await api(host, "GET", "/api/projects")).body;
  assert.equal(one.items.length, 3);
  assert.equal(one.next_cursor, null);
  const order = one.items.map((project: { id: string }) => project.id);
  const times = new Set(one.items.map((project: { created_at: string }) => project.created_at));
  assert.equal(times.size, 1, "every project was started in the same millisecond");
  assert.deepEqual(order, [...order].sort().reverse(), "same instant: ordered by id");
  const paged: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { items: { id: string }[]; next_cursor: string | null } = (await api(
      host,
      "GET",
      `/api/projects?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    )).body;
    assert.equal(page.items.length, 1);
    paged.push(page.items[0]!.id);
    cursor = page.next_cursor;
  } while (cursor && paged.length < 5);
  assert.deepEqual(paged, order);
  const foreign = await api(host, "GET", "/api/projects?cursor=abc");
  assert.equal(foreign.status, 400);
  assert.equal(foreign.body.error.field, "cursor");
});

Deno.test("an administrator deletes another user's archived project by its full id; its owner cannot delete it", async () => {
  await using fake = await startFakeLlm();
  await using host = await projectHost(fake);
  const owner = host.as({ userId: "usr_owner", role: "operator" }) as unknown as TestHost;
  const id = (await api(owner, "POST", "/api/projects", { template_id: "api" })).body.project.id;
  assert.equal((await api(owner, "POST", `/api/projects/${id}/archive`, {})).status, 200);
  assert.equal((await api(owner, "DELETE", `/api/projects/${id}`)).status, 403, "admins delete");
  const admin = host.as({ userId: "usr_admin", role: "admin" }) as unknown as TestHost;
  const deleted = await api(admin, "DELETE", `/api/projects/${id}`);
  assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
  assert.equal((await api(owner, "GET", `/api/projects/${id}`)).status, 404);
  // A short id names only the administrator's own projects.
  const other = (await api(owner, "POST", "/api/projects", { template_id: "api" })).body.project.id;
  await api(owner, "POST", `/api/projects/${other}/archive`, {});
  const short = other.slice(4, 12);
  assert.equal((await api(admin, "DELETE", `/api/projects/${short}`)).status, 404);
});

Deno.test("input that fits no phase is refused: nothing said in initialization, steps without continuing; events take after or cursor, not both", async () => {
  await using fake = await startFakeLlm();
  await using host = await projectHost(fake);
  const id = (await api(host, "POST", "/api/projects", { template_id: "api" })).body.project.id;
  for (const body of [{}, { text: "   " }]) {
    const refused = await api(host, "POST", `/api/projects/${id}/input`, body);
    assert.equal(refused.status, 409, JSON.stringify(body));
    assert.equal(refused.body.error.field, "text");
    assert.match(refused.body.error.message, /needs a message \(text\) or one of answers, skip/);
  }
  const steps = await api(host, "POST", `/api/projects/${id}/input`, { text: "yes", steps: 5 });
  assert.equal(steps.status, 400);
  assert.equal(steps.body.error.field, "steps");
  const both = await api(host, "GET", `/api/projects/${id}/events?cursor=1&after=10`);
  assert.equal(both.status, 400);
  assert.equal(both.body.error.field, "after");
  const events = (await api(host, "GET", `/api/projects/${id}/events`)).body.items;
  assert.deepEqual(events.map((event: { type: string }) => event.type), ["started", "questions"]);
});
