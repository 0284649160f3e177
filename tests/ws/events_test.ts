/**
 * `GET /api/events?topics=` (spec/server.md §4.4): the WebSocket's messages as server-sent
 * events, to the same audiences, with `id: <session>:<seq>`, and `Last-Event-ID` resuming the
 * session with what it missed.
 */
import assert from "node:assert/strict";
import type { TestHost } from "@synth/testing";
import { authHost, call, setupAdmin, userWithRole } from "../security/helpers.ts";

interface SseEvent {
  event: string;
  id: string;
  data: Record<string, unknown>;
}

/** An open event stream: its events, parsed as they arrive. */
async function events(
  host: TestHost,
  token: string,
  query: string,
  lastEventId?: string,
) {
  const response = await host.request(`/api/events${query}`, {
    headers: {
      authorization: `Bearer ${token}`,
      ...(lastEventId ? { "last-event-id": lastEventId } : {}),
    },
  });
  if (response.status !== 200) assert.fail(`${response.status}: ${await response.text()}`);
  assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let pings = 0;
  return {
    /** Comment lines (`: ping`) read so far. */
    get pings() {
      return pings;
    },
    /** The next event (of `type`, skipping others when given). */
    async next(type?: string): Promise<SseEvent> {
      for (;;) {
        const end = text.indexOf("\n\n");
        if (end >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          const field = (name: string) =>
            block.split("\n").find((line) => line.startsWith(`${name}:`))?.slice(name.length + 1)
              .trim();
          const data = field("data");
          if (data === undefined) {
            if (block.startsWith(":")) pings++;
            continue;
          }
          const event = { event: field("event")!, id: field("id") ?? "", data: JSON.parse(data) };
          if (!type || event.event === type) return event;
          continue;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended while waiting for ${type ?? "an event"}`);
        text += value;
      }
    },
    close: () => reader.cancel(),
  };
}

/** An administrator and two operators, ada and bob: their access tokens. */
async function adaAndBob(host: TestHost) {
  const admin = (await setupAdmin(host)).access_token as string;
  const ada = (await userWithRole(host, admin, "ada", "operator")).access_token as string;
  const bob = (await userWithRole(host, admin, "bob", "operator")).access_token as string;
  return { admin, ada, bob };
}

Deno.test("/api/events streams a user's own memory updates, not another's, with session ids; Last-Event-ID resumes with what was missed", async () => {
  await using host = await authHost();
  const { ada, bob } = await adaAndBob(host);
  const adaStream = await events(host, ada, "?topics=memory");
  const bobStream = await events(host, bob, "?topics=memory");
  const welcome = await adaStream.next("welcome");
  assert.deepEqual(welcome.data.topics, ["memory"]);
  const session = welcome.data.session_id as string;
  assert.equal(welcome.id, `${session}:1`);
  await bobStream.next("welcome");

  const created = await call(host, "POST", "/api/memories", {
    token: ada,
    body: { text: "Ada keeps her bicycle in the hallway." },
  });
  assert.equal(created.status, 201);
  const id = created.body.id as string;
  const update = await adaStream.next("memory.update");
  assert.deepEqual(update.data, { op: "created", ids: [id], kind: "semantic" });
  assert.equal(update.id, `${session}:2`);
  // Bob's stream hears of his own memory first: Ada's never reached it.
  const his = await call(host, "POST", "/api/memories", {
    token: bob,
    body: { text: "Bob prefers tea." },
  });
  assert.deepEqual((await bobStream.next("memory.update")).data.ids, [his.body.id]);

  // Ada's reader leaves; what happens meanwhile waits in her session.
  await adaStream.close();
  const patched = await call(host, "PATCH", `/api/memories/${id}`, {
    token: ada,
    body: { importance: 0.2 },
  });
  assert.equal(patched.status, 200);
  const resumed = await events(host, ada, "?topics=memory", update.id);
  const again = await resumed.next();
  assert.equal(again.event, "welcome");
  assert.equal(again.data.resumed, true);
  assert.equal(again.data.replayed, 1);
  const missed = await resumed.next();
  assert.equal(missed.event, "memory.update");
  assert.deepEqual(missed.data, { op: "updated", ids: [id], kind: "semantic" });
  assert.equal(missed.id, `${session}:3`);
  await resumed.close();
  await bobStream.close();
});

Deno.test("/api/events refuses unknown topics and a Last-Event-ID that names no event, needs a credential, and refuses topics above the role", async () => {
  await using host = await authHost();
  const admin = (await setupAdmin(host)).access_token as string;
  const vera = (await userWithRole(host, admin, "vera", "viewer")).access_token as string;
  for (
    const [query, headers, field] of [
      ["?topics=memory,gossip", {}, "topics"],
      [`?topics=${Array.from({ length: 33 }, (_, i) => `chat:thr_${i}`).join(",")}`, {}, "topics"],
      ["?topics=", {}, "topics"],
      ["?topics=memory", { "last-event-id": "not-an-id" }, "Last-Event-ID"],
    ] as const
  ) {
    const refused = await call(host, "GET", `/api/events${query}`, { token: vera, headers });
    assert.equal(refused.status, 400, query);
    assert.equal((refused.body.error as Record<string, unknown>).field, field);
  }
  const unknown = await call(host, "GET", "/api/events?topics=gossip", { token: vera });
  assert.match(
    (unknown.body.error as Record<string, unknown>).message as string,
    /query parameter topics: must list 1 to 32 topics among state, chat, chat:<thread id>, projects/,
  );
  assert.equal((await call(host, "GET", "/api/events")).status, 401);
  // A viewer asking for approvals (operators' topic) is refused by name, before any stream.
  const above = await call(host, "GET", "/api/events?topics=approvals,notices", { token: vera });
  assert.equal(above.status, 403);
  assert.deepEqual({ ...above.body.error as Record<string, unknown>, request_id: "-" }, {
    request_id: "-",
    code: "FORBIDDEN",
    message: "These topics need a higher role: approvals",
    field: "topics",
  });
  const stream = await events(host, vera, "?topics=notices");
  assert.deepEqual((await stream.next("welcome")).data.topics, ["notices"]);
  await stream.close();
});

Deno.test("/api/events: a quiet stream gets a ping every 15 s; a revoked credential ends it with a close event; another user's Last-Event-ID resumes nothing", async () => {
  await using host = await authHost();
  const { admin, ada, bob } = await adaAndBob(host);
  const stream = await events(host, ada, "?topics=memory");
  const welcome = await stream.next("welcome");
  await host.clock.tick(15_000);
  const created = await call(host, "POST", "/api/memories", {
    token: ada,
    body: { text: "Ada's locker code is on the note." },
  });
  const update = await stream.next("memory.update");
  assert.equal(stream.pings, 1, "the ping came before the update");

  // Bob naming Ada's session gets a session of his own, and nothing of hers.
  const his = await events(host, bob, "?topics=memory", update.id);
  const hisWelcome = await his.next("welcome");
  assert.equal(hisWelcome.data.resumed, false);
  assert.notEqual(hisWelcome.data.session_id, welcome.data.session_id);
  await call(host, "PATCH", `/api/memories/${created.body.id}`, {
    token: ada,
    body: { importance: 0.9 },
  });
  const mine = await call(host, "POST", "/api/memories", {
    token: bob,
    body: { text: "Bob's own note." },
  });
  assert.deepEqual((await his.next("memory.update")).data.ids, [mine.body.id]);
  await his.close();

  // Ada's role changes: her credential is revoked, and the stream says so, then ends.
  const demoted = await call(host, "PUT", "/api/users/ada/role", {
    token: admin,
    body: { role: "viewer" },
  });
  assert.equal(demoted.status, 200);
  assert.equal((await stream.next("memory.update")).data.op, "updated");
  const close = await stream.next("close");
  assert.equal(close.data.code, 4401);
  await assert.rejects(stream.next(), /the stream ended/);
});
