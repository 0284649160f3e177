/**
 * The baseline for `deno task bench`: a bare `Deno.serve` answering the same
 * JSON as `/health/live`, with no framework, middleware or plugins. The
 * ratio against it shows what the kernel costs.
 */
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => {
    // deno-lint-ignore no-console
    console.log(JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}` }));
  },
}, () => Response.json({ status: "alive", timestamp: new Date().toISOString() }));
