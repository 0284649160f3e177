import assert from "node:assert/strict";
import { Hono } from "hono";
import type { AppEnv } from "./types.ts";
import { hostCheck, isLoopbackName } from "./guards.ts";

Deno.test("the Host check takes configured names and IPv6 addresses with or without brackets and port", async () => {
  const app = new Hono<AppEnv>();
  app.use(hostCheck({ enabled: true, allowed: ["10.1.2.3", "fd00::1", "[fd00::2]", "Synth"] }));
  app.get("/", (c) => c.text("ok"));
  const status = async (host: string) =>
    (await app.request("http://x/", { headers: { host } })).status;
  for (const host of ["10.1.2.3:8080", "[fd00::1]:8080", "[fd00::1]", "[fd00::2]:80", "synth"]) {
    assert.equal(await status(host), 200, host);
  }
  for (const host of ["[::1]:8080", "localhost:8080", "127.0.0.1"]) {
    assert.equal(await status(host), 200, `${host} (loopback)`);
  }
  for (const host of ["[fd00::3]:8080", "evil.example", "10.1.2.4:8080"]) {
    assert.equal(await status(host), 421, host);
  }
});

Deno.test("isLoopbackName() tells loopback addresses from network ones", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "LOCALHOST"]) {
    assert.equal(isLoopbackName(host), true, host);
  }
  for (const host of ["0.0.0.0", "::", "192.168.1.4", "example.com", "128.0.0.1"]) {
    assert.equal(isLoopbackName(host), false, host);
  }
});
