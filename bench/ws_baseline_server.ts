/**
 * The baseline of the `ws` bench suite: a bare `Deno.serve` WebSocket
 * server speaking just enough of `synth.v1` (hello → welcome) and
 * broadcasting what it is told (`POST /tokens?n=&interval=`, paced;
 * `POST /delta`) with a
 * per-socket seq, with no hub, topics, replay or back-pressure.
 */
import { BASELINE_LISTEN } from "./baseline_listen.ts";
const sockets = new Map<WebSocket, { seq: number }>();

function broadcast(type: string, data: unknown) {
  const ts = Date.now();
  const body = JSON.stringify(data);
  for (const [socket, session] of sockets) {
    socket.send(`{"type":"${type}","seq":${++session.seq},"ts":${ts},"data":${body}}`);
  }
}

let version = 0;
Deno.serve(BASELINE_LISTEN, async (request) => {
  const url = new URL(request.url);
  if (url.pathname === "/tokens") {
    const n = Number(url.searchParams.get("n") ?? 200);
    const interval = Number(url.searchParams.get("interval") ?? 0);
    for (let index = 0; index < n; index++) {
      broadcast("chat.token", {
        thread_id: "thr_bench",
        turn_id: "turn_bench",
        index,
        text: "word ",
      });
      // Paced as a streamed reply arrives.
      await new Promise((resolve) => setTimeout(resolve, interval));
    }
    return new Response(null, { status: 204 });
  }
  if (url.pathname === "/delta") {
    version++;
    broadcast("state.delta", {
      base_version: version - 1,
      version,
      patch: { timestamp: new Date().toISOString(), valence: version / 1000 },
      cause: "bench",
    });
    return new Response(null, { status: 204 });
  }
  const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "synth.v1" });
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data as string);
    if (message.type !== "hello") return;
    const session = { seq: 1 };
    sockets.set(socket, session);
    socket.send(JSON.stringify({ type: "welcome", seq: 1, ts: Date.now(), data: {} }));
  };
  socket.onclose = () => sockets.delete(socket);
  return response;
});
