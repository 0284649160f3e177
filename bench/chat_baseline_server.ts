/**
 * The baseline of the mind suite: the thinnest chat server there is. A bare
 * `Deno.serve` takes the same `POST /api/chat` body, makes one streaming call
 * with the official SDK to the same fake model, and answers the reply as
 * JSON: no framework, store, memory or psyche. What a turn costs beyond this
 * is the pipeline's own overhead; the HTTP round trip and the model call are
 * paid by both.
 *
 * Usage: `deno run --allow-net=127.0.0.1 --allow-env bench/chat_baseline_server.ts <fake base URL>`
 */
import { BASELINE_LISTEN } from "./baseline_listen.ts";
import OpenAI from "openai";

const baseURL = Deno.args[0];
if (!baseURL) throw new Error("usage: chat_baseline_server.ts <fake base URL>");
const client = new OpenAI({ apiKey: "sk-bench-00000000000000000", baseURL, maxRetries: 0 });

Deno.serve(BASELINE_LISTEN, async (request) => {
  const body = await request.json() as { message?: unknown; thread_id?: unknown };
  if (typeof body.message !== "string") {
    return Response.json({ error: { code: "VALIDATION", field: "message" } }, { status: 400 });
  }
  const stream = await client.chat.completions.create({
    model: "gpt-bench",
    max_tokens: 256,
    messages: [{ role: "user", content: body.message }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let reply = "";
  for await (const chunk of stream) reply += chunk.choices[0]?.delta.content ?? "";
  return Response.json({
    thread_id: typeof body.thread_id === "string" ? body.thread_id : crypto.randomUUID(),
    reply,
  });
});
