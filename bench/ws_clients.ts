/**
 * A child of `deno task bench` (suite `ws`): opens N WebSockets to a
 * `synth.v1` server, says hello, prints `READY` once every socket is
 * welcomed, and records each message's latency (receive time − its `ts`),
 * seq gaps (lost messages) and unexpected closes. The line `report` on stdin
 * prints the figures as one JSON line and exits.
 *
 * With BENCH_API_KEY set, each socket signs in with that key in its hello.
 *
 * usage: deno run --allow-net=127.0.0.1 --allow-env=BENCH_API_KEY bench/ws_clients.ts <url> <count>
 */
const [url, countText] = Deno.args;
const key = Deno.env.get("BENCH_API_KEY");
const count = Number(countText);
if (!url || !Number.isInteger(count) || count <= 0) {
  // deno-lint-ignore no-console
  console.error("usage: ws_clients.ts <http url> <count>");
  Deno.exit(64);
}

const latencies: number[] = [];
const counts: Record<string, number> = {};
let lost = 0;
let disconnects = 0;
let stopping = false;

function open(): Promise<void> {
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const socket = new WebSocket(url!.replace(/^http/, "ws") + "/ws", ["synth.v1"]);
  let lastSeq = 0;
  let welcomed = false;
  socket.onopen = () =>
    socket.send(JSON.stringify({
      type: "hello",
      seq: 1,
      data: { topics: ["chat", "state"], ...(key ? { token: key } : {}) },
    }));
  socket.onmessage = (event) => {
    const now = Date.now();
    const message = JSON.parse(event.data as string);
    if (message.type === "pong") return;
    if (message.type === "welcome") {
      welcomed = true;
      lastSeq = message.seq;
      resolve();
      return;
    }
    if (message.seq > lastSeq + 1) lost += message.seq - lastSeq - 1;
    lastSeq = Math.max(lastSeq, message.seq);
    counts[message.type] = (counts[message.type] ?? 0) + 1;
    if (message.type === "chat.token" || message.type === "state.delta") {
      latencies.push(now - message.ts);
    }
  };
  socket.onclose = () => {
    if (!welcomed) reject(new Error("closed before its welcome"));
    else if (!stopping) disconnects++;
  };
  socket.onerror = () => {/* onclose follows */};
  return promise;
}

// Open in batches so the server's accept queue is not flooded.
for (let i = 0; i < count; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, count - i) }, open));
}
// deno-lint-ignore no-console
console.log("READY");

for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  if (chunk.includes("report")) break;
}
stopping = true;
// deno-lint-ignore no-console
console.log(JSON.stringify({ latencies, counts, lost, disconnects }));
Deno.exit(0);
