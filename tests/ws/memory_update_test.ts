/**
 * `memory.update` on the `memory` topic (spec/server.md §5.3, memory.md §9):
 * a user's sockets hear of their own memories being created, updated and
 * forgotten, other users' sockets do not, and agent-wide (self) memories
 * reach everyone. Ids and kind only, never content.
 */
import assert from "node:assert/strict";
import type { MemoryApi } from "../../plugins/memory/mod.ts";
import { authHost, call, setupAdmin, userWithRole } from "../security/helpers.ts";
import { serverMessage } from "../../src/ws/protocol.ts";
import { connect, signedIn } from "./client.ts";

/** A socket of the user with `token`, subscribed to `memory` only. */
const memorySocket = (url: string, token: string) => signedIn(url, token, ["memory"]);

Deno.test("a memory's created, updated and forgotten reach its owner's sockets only; self memories reach every socket", async () => {
  await using host = await authHost();
  const admin = await setupAdmin(host);
  const ada = (await userWithRole(host, admin.access_token as string, "ada", "operator"))
    .access_token as string;
  const bob = (await userWithRole(host, admin.access_token as string, "bob", "operator"))
    .access_token as string;
  const server = host.listen();
  const adaSocket = await memorySocket(server.url, ada);
  const adaSecond = await memorySocket(server.url, ada);
  const bobSocket = await memorySocket(server.url, bob);

  const text = "Ada keeps her bicycle in the hallway.";
  const created = await call(host, "POST", "/api/memories", { token: ada, body: { text } });
  assert.equal(created.status, 201);
  const id = created.body.id as string;
  const patched = await call(host, "PATCH", `/api/memories/${id}`, {
    token: ada,
    body: { importance: 0.2 },
  });
  assert.equal(patched.status, 200);
  const forgotten = await call(host, "DELETE", `/api/memories/${id}`, { token: ada });
  assert.equal(forgotten.status, 204);

  for (const socket of [adaSocket, adaSecond]) {
    assert.deepEqual((await socket.next("memory.update")).data, {
      op: "created",
      ids: [id],
      kind: "semantic",
    });
    assert.deepEqual((await socket.next("memory.update")).data, {
      op: "updated",
      ids: [id],
      kind: "semantic",
    });
    assert.deepEqual((await socket.next("memory.update")).data, { op: "forgotten", ids: [id] });
  }

  // An agent-wide memory reaches every socket: Bob's first memory.update must be this one, so
  // none of Ada's three came before it.
  const self = await host.api<MemoryApi>("memory").addSelf({
    subkind: "reflection",
    text: "I answer briefly when people are in a hurry.",
  });
  const selfUpdate = { op: "created", ids: [self.uid], kind: "self" };
  assert.deepEqual((await bobSocket.next("memory.update")).data, selfUpdate);
  assert.deepEqual((await adaSocket.next("memory.update")).data, selfUpdate);

  // And the other way round: Bob's memory reaches Bob, not Ada.
  const bobs = await call(host, "POST", "/api/memories", {
    token: bob,
    body: { text: "Bob is learning the cello." },
  });
  assert.equal(bobs.status, 201);
  assert.deepEqual((await bobSocket.next("memory.update")).data, {
    op: "created",
    ids: [bobs.body.id],
    kind: "semantic",
  });
  const later = await host.api<MemoryApi>("memory").addSelf({
    subkind: "reflection",
    text: "I check the facts before I state them.",
  });
  assert.deepEqual((await adaSocket.next("memory.update")).data, {
    op: "created",
    ids: [later.uid],
    kind: "self",
  });

  const everything = JSON.stringify([adaSocket.received, bobSocket.received]);
  for (const content of [text, "cello", "hurry"]) {
    assert.ok(!everything.includes(content), `no content on the wire: ${content}`);
  }
  for (const socket of [adaSocket, adaSecond, bobSocket]) socket.close();
  await server.shutdown();
});

Deno.test("a socket not subscribed to memory hears nothing of memories", async () => {
  await using host = await authHost();
  const admin = await setupAdmin(host);
  const token = admin.access_token as string;
  const server = host.listen();
  const client = await connect(server.url);
  client.send("hello", { token, topics: ["notices"] });
  await client.next("welcome");
  const created = await call(host, "POST", "/api/memories", {
    token,
    body: { text: "The admin prefers dark mode." },
  });
  assert.equal(created.status, 201);
  // The subscription's ack is ordered after anything already sent to this socket.
  const sent = client.send("subscribe", { topics: ["memory"] });
  assert.equal((await client.next("ack")).re, sent);
  assert.deepEqual(client.received.filter((message) => message.type === "memory.update"), []);
  const again = await call(host, "POST", "/api/memories", {
    token,
    body: { text: "The admin drinks espresso." },
  });
  assert.deepEqual((await client.next("memory.update")).data, {
    op: "created",
    ids: [again.body.id],
    kind: "semantic",
  });
  client.close();
  await server.shutdown();
});

Deno.test("a viewer asking for approvals in hello or subscribe is refused by name; the welcome lists what was granted", async () => {
  await using host = await authHost();
  const admin = await setupAdmin(host);
  const vera = (await userWithRole(host, admin.access_token as string, "vera", "viewer"))
    .access_token as string;
  const server = host.listen();
  const client = await connect(server.url, ["synth.v1"], { "x-request-id": "upgrade-7" });
  const hello = client.send("hello", { token: vera, topics: ["approvals", "memory"] });
  assert.deepEqual((await client.next("welcome")).data.topics, ["memory"]);
  const refused = await client.next("error");
  assert.equal(refused.re, hello);
  // An ErrorBody's error (server.md §2), its request id the socket's upgrade's.
  assert.deepEqual(refused.data, {
    code: "FORBIDDEN",
    message: "These topics need a higher role: approvals",
    field: "topics",
    request_id: "upgrade-7",
  });
  const subscribe = client.send("subscribe", { topics: ["approvals"] });
  const again = await client.next("error");
  assert.equal(again.re, subscribe);
  assert.equal((again.data as Record<string, unknown>).code, "FORBIDDEN");
  assert.equal((again.data as Record<string, unknown>).request_id, "upgrade-7");
  // The socket goes on with what it was granted.
  const sent = client.send("subscribe", { topics: ["notices"] });
  const ack = await client.next("ack");
  assert.equal(ack.re, sent);
  assert.deepEqual(ack.data, { topics: ["memory", "notices"] });
  for (const message of client.received) assert.ok(serverMessage.safeParse(message).success);
  client.close();
  await server.shutdown();
});
