/**
 * A server whose listener fails — out of file descriptors, the idle
 * connections of a flood that never finish their request — says so and
 * listens again once descriptors are free, instead of ending the process
 * (Deno's `Deno.serve` stops accepting for good and rejects `finished`).
 */
import assert from "node:assert/strict";
import { spawnServer } from "@synth/testing";

Deno.test("out of file descriptors, the server stops accepting, says so and listens again once the connections close", async () => {
  // Few descriptors: the server's own files and sockets take some, the flood the rest.
  await using server = await spawnServer({ wrap: ["prlimit", "--nofile=160:160", "--"] });
  const { port } = new URL(server.url);
  const stopped = server.untilLine("the server stopped accepting connections; listening again");
  let failed = false;
  void stopped.then(() => (failed = true));
  // Half-sent requests, held open, until the server's accept fails.
  const held: Deno.Conn[] = [];
  const partial = new TextEncoder().encode("GET /health/live HTTP/1.1\r\n");
  for (let i = 0; i < 1_000 && !failed; i++) {
    let connection: Deno.Conn;
    try {
      connection = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
    } catch {
      break; // refused: the listener has gone
    }
    await connection.write(partial).catch(() => {});
    held.push(connection);
  }
  // Before, the failure ended the process ("Uncaught (in promise) Http: … Too many open files").
  const exited = server.status.then((status) => {
    throw new Error(`the server ended (code ${status.code}):\n${server.stderr.join("\n")}`);
  });
  await Promise.race([stopped, exited]);
  exited.catch(() => {});
  const again = server.untilLine("accepting connections again");
  for (const connection of held) connection.close();
  // The process lived on; listening again is retried until descriptors are free.
  await Promise.race([again, exited]);
  const response = await fetch(`${server.url}/health/live`);
  assert.equal(response.status, 200);
  await response.body?.cancel();
});
