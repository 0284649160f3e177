import assert from "node:assert/strict";
import { helloPlugin } from "../../examples/hello/mod.ts";
import type { AnyPlugin } from "../plugin/types.ts";
import { createTestCliIo } from "../testing/cli_io.ts";
import { EXIT } from "./io.ts";
import { runCli } from "./main.ts";

function io(env: Record<string, string> = {}, plugins: readonly AnyPlugin[] = []) {
  const test = createTestCliIo({ env, plugins });
  return { cliIo: test.io, stdout: test.stdout, stderr: test.stderr };
}

Deno.test("serve --print-config prints the resolved config with secrets as *** and exits 0", async () => {
  const run = io({ SYNTH_HELLO_ADMIN_TOKEN: "a-very-secret-admin-token", PORT: "9001" }, [
    helloPlugin,
  ]);
  const code = await runCli(["serve", "--print-config", "--host", "127.0.0.5"], run.cliIo);
  assert.equal(code, EXIT.OK);
  const printed = JSON.parse(run.stdout());
  assert.equal(printed.hello.adminToken, "***");
  assert.equal(printed.hello.greeting, "Hello");
  assert.equal(printed.server.port, 9001);
  assert.equal(printed.server.host, "127.0.0.5");
  assert.ok(!run.stdout().includes("a-very-secret-admin-token"));
});

Deno.test("a bad config value exits 78 with one line naming the key and the variable", async () => {
  const run = io({ SYNTH_SERVER_PORT: "eighty" });
  const code = await runCli(["serve"], run.cliIo);
  assert.equal(code, EXIT.CONFIG);
  assert.equal(
    run.stderr(),
    'config: server.port must be an integer from 0 to 65535 (got "eighty", from SYNTH_SERVER_PORT)\n',
  );
});

Deno.test("an unknown flag or command exits 64 with the usage", async () => {
  const flag = io();
  assert.equal(await runCli(["serve", "--prot", "1"], flag.cliIo), EXIT.USAGE);
  assert.match(flag.stderr(), /Unknown option '--prot'/);
  assert.match(flag.stderr(), /Usage: synth-mind/);
  const command = io();
  assert.equal(await runCli(["frobnicate"], command.cliIo), EXIT.USAGE);
  assert.match(command.stderr(), /Unknown command "frobnicate"/);
});

Deno.test("--version prints the deno.json version", async () => {
  const run = io();
  assert.equal(await runCli(["--version"], run.cliIo), EXIT.OK);
  const { default: denoJson } = await import("../../deno.json", { with: { type: "json" } });
  assert.equal(run.stdout(), `synth-mind ${denoJson.version} (deno ${Deno.version.deno})\n`);
});

Deno.test("chat with an unknown flag prints its usage and exits 64", async () => {
  const run = io();
  assert.equal(await runCli(["chat", "--threads", "x"], run.cliIo), EXIT.USAGE);
  assert.match(run.stderr(), /usage: deno task chat \[--thread THREAD_ID\]/);
});

Deno.test("a config file the permission set does not cover is reported, not a crash", async () => {
  const run = io({ SYNTH_CONFIG: "/etc/synth.config.json" });
  // The test permission set does not grant reading /etc.
  assert.equal(await runCli(["serve"], run.cliIo), EXIT.CONFIG);
  assert.equal(
    run.stderr(),
    'config: cannot read "/etc/synth.config.json": the permission set does not allow reading it (the server reads files under its own directory: put the file there, e.g. in ./data/secrets/)\n',
  );
});
