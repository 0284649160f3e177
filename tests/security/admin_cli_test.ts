/**
 * Offline recovery (spec/server.md §3.3, ops.md §5): `admin create-user`
 * closes setup, `reset-password` ends sessions and unlocks, both refused
 * while a server holds the data directory.
 */
import assert from "node:assert/strict";
import { createTestCliIo, makeTestDir, runCli, spawnServer } from "@synth/testing";
import { authHost, call, PASSWORD } from "./helpers.ts";

const env = (dataDir: string) => ({
  SYNTH_DATA_DIR: dataDir,
  SYNTH_AUTH_PASSWORD_SCRYPT_LOG_N: "14",
});

Deno.test("admin create-user makes an administrator offline and closes setup; reset-password sets a new one; list-users lists", async () => {
  const dataDir = await makeTestDir("synth-admin-");
  try {
    const create = createTestCliIo({ env: env(dataDir), input: [PASSWORD] });
    assert.equal(await runCli(["admin", "create-user", "Root"], create.io), 0, create.stderr());
    assert.match(
      create.stdout(),
      /^created root \(admin\) — names are kept in lower case: sign in as root\n$/,
    );
    assert.ok(!create.stdout().includes(PASSWORD));
    const weak = createTestCliIo({ env: env(dataDir), input: ["short"] });
    assert.equal(await runCli(["admin", "create-user", "vera", "--role", "viewer"], weak.io), 1);
    assert.match(weak.stderr(), /at least 12 characters/);

    const reset = createTestCliIo({ env: env(dataDir), input: ["a fresh long password"] });
    assert.equal(await runCli(["admin", "reset-password", "root"], reset.io), 0, reset.stderr());
    const list = createTestCliIo({ env: env(dataDir) });
    assert.equal(await runCli(["admin", "list-users"], list.io), 0);
    assert.match(list.stdout(), /^root\tadmin\tactive\tlast sign-in never\n$/);

    await using host = await authHost({ dataDir });
    assert.equal(host.kernel.setupToken, null, "setup is closed: no token");
    assert.equal((await call(host, "GET", "/api/auth/status")).body.setup_required, false);
    const login = await call(host, "POST", "/api/auth/login", {
      body: { username: "root", password: "a fresh long password" },
    });
    assert.equal(login.status, 200);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("admin list-users and reset-password on a new data directory say there is no database and make none", async () => {
  const parent = await makeTestDir("synth-admin-");
  const dataDir = `${parent}/data`;
  try {
    const list = createTestCliIo({ env: env(dataDir) });
    assert.equal(await runCli(["admin", "list-users"], list.io), 0, list.stderr());
    assert.match(list.stdout(), /^No users yet: no database at .*synth\.db yet/);
    const reset = createTestCliIo({ env: env(dataDir), input: [PASSWORD] });
    assert.equal(await runCli(["admin", "reset-password", "root"], reset.io), 1);
    assert.match(reset.stderr(), /^No such user root: no database at /);
    assert.ok(!reset.stderr().includes("New password"), "no prompt");
    await assert.rejects(Deno.stat(dataDir), Deno.errors.NotFound, "no data directory was made");
  } finally {
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("admin commands are refused (exit 75) while a server runs on the data directory", async () => {
  await using server = await spawnServer();
  const cli = createTestCliIo({ env: env(server.dataDir), input: [PASSWORD] });
  assert.equal(await runCli(["admin", "reset-password", "root"], cli.io), 75);
  assert.match(cli.stderr(), /Stop the server first/);
  const usage = createTestCliIo({ env: env(server.dataDir) });
  assert.equal(await runCli(["admin", "rename", "root"], usage.io), 64);
});

Deno.test("admin reset-password of an unknown user, create-user of an impossible name and --role where it is not read are refused before asking; --help prints usage", async () => {
  const dataDir = await makeTestDir("synth-admin-");
  try {
    const create = createTestCliIo({ env: env(dataDir), input: [PASSWORD] });
    assert.equal(await runCli(["admin", "create-user", "root"], create.io), 0, create.stderr());
    const cli = createTestCliIo({ env: env(dataDir), input: [PASSWORD] });
    assert.equal(await runCli(["admin", "reset-password", "nobody"], cli.io), 1);
    assert.match(cli.stderr(), /^No such user/);
    assert.doesNotMatch(cli.stderr(), /no database/);
    assert.ok(!cli.stderr().includes("New password"), "no prompt for an unknown user");
    // A name that cannot be a username is refused before the prompt (exit 64).
    const bad = createTestCliIo({ env: env(dataDir), input: [PASSWORD] });
    assert.equal(await runCli(["admin", "create-user", "Bad Name"], bad.io), 64);
    assert.match(bad.stderr(), /^"Bad Name" cannot be a username: 3–32 lower-case letters/);
    assert.ok(!bad.stderr().includes("New password"), "no prompt for a name that cannot be");
    // --role is read by create-user only: elsewhere it is refused, not ignored.
    const listed = createTestCliIo({ env: env(dataDir) });
    assert.equal(await runCli(["admin", "list-users", "--role", "viewer"], listed.io), 64);
    assert.match(listed.stderr(), /^--role applies to create-user only \(not list-users\)/);
    assert.equal(listed.stdout(), "", "nothing listed");
    const help = createTestCliIo({ env: env(dataDir) });
    assert.equal(await runCli(["admin", "--help"], help.io), 0);
    assert.match(help.stdout(), /usage: synth-mind admin list-users/);
    const certHelp = createTestCliIo({ env: env(dataDir) });
    assert.equal(await runCli(["cert", "--help"], certHelp.io), 0);
    assert.match(certHelp.stdout(), /not a CA/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("admin create-user of a taken name says so before asking; at a terminal the password is typed twice", async () => {
  const dataDir = await makeTestDir("synth-admin-");
  try {
    const create = createTestCliIo({ env: env(dataDir), input: [PASSWORD] });
    assert.equal(await runCli(["admin", "create-user", "ada"], create.io), 0, create.stderr());
    // "Ada" is "ada": refused before any prompt, naming the account and the way to a new password.
    const taken = createTestCliIo({ env: env(dataDir), input: [PASSWORD] });
    assert.equal(await runCli(["admin", "create-user", "Ada", "--role", "viewer"], taken.io), 1);
    assert.equal(
      taken.stderr(),
      "A user named ada exists (names are kept in lower case); to give them a new password: " +
        "deno task admin reset-password ada\n",
    );
    // A person at a terminal types it unseen, so twice; two different ones change nothing.
    const slipped = createTestCliIo({
      env: env(dataDir),
      inputIsTerminal: true,
      input: [PASSWORD, `${PASSWORD}x`],
    });
    assert.equal(await runCli(["admin", "reset-password", "ada"], slipped.io), 1);
    assert.match(slipped.stderr(), /not shown\), then Enter:\nThe same password again:\n/);
    assert.match(slipped.stderr(), /The two passwords differ; nothing was changed\.\n$/);
    await using host = await authHost({ dataDir });
    const login = await call(host, "POST", "/api/auth/login", {
      body: { username: "ada", password: PASSWORD },
    });
    assert.equal(login.status, 200, "the old password still signs in");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
