/**
 * How every baseline server of `deno task bench` listens: loopback, a free
 * port, and its address as the first line of stdout for the bench to read.
 * No other import: the baselines stay bare.
 *
 * @module
 */

/** `Deno.serve` options of a baseline server. */
export const BASELINE_LISTEN: Deno.ServeTcpOptions = {
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => {
    // deno-lint-ignore no-console
    console.log(JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}` }));
  },
};
