/**
 * Runs the real start command (`deno task start`'s arguments, under exactly
 * the `server` permission set) as a subprocess.
 */
import assert from "node:assert/strict";
import { makeTestDir, spawnServer, startTaskArgs } from "@synth/testing";
import { runMain } from "./ops/_cli.ts";

interface PermissionEntry {
  permission: string;
  target: string;
  state: string;
  allowed: boolean;
}

Deno.test("the start task uses an explicit permission set, never -A", () => {
  const args = startTaskArgs();
  assert.ok(args.includes("-P=server"));
  assert.ok(args.includes("--no-prompt"));
  assert.ok(!args.some((arg) => arg === "-A" || arg.startsWith("--allow-all")));
});

Deno.test("the start command serves /health/live and lists its permissions in /health", async () => {
  await using server = await spawnServer();
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);

  const live = await fetch(`${server.url}/health/live`);
  assert.equal(live.status, 200);
  assert.equal((await live.json()).status, "alive");

  const health = await (await fetch(`${server.url}/health`)).json();
  const permissions: PermissionEntry[] = health.permissions;
  const find = (permission: string, target: string) =>
    permissions.find((entry) => entry.permission === permission && entry.target === target);
  assert.equal(find("read", "/etc")?.allowed, false, "reading /etc is denied");
  assert.equal(find("read", "*")?.allowed, false, "reading is not granted everywhere");
  assert.equal(find("read", server.dataDir)?.allowed, true, "the data dir is readable");
  assert.equal(find("write", server.dataDir)?.allowed, true, "the data dir is writable");
  assert.equal(find("write", "*")?.allowed, false);
  for (const kind of ["env", "run", "ffi", "sys"]) {
    assert.equal(find(kind, "*")?.allowed, false, `${kind} is not granted in full`);
  }
  const dirInfo = await Deno.stat(server.dataDir);
  assert.equal((dirInfo.mode ?? 0) & 0o777, 0o700, "the data dir is created 0700");
});

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${signal} stops the server cleanly with exit 0`, async () => {
    const server = await spawnServer();
    const status = await server.stop(signal);
    assert.equal(status.code, 0);
    const messages = server.stdout.map((line) => JSON.parse(line).msg);
    assert.deepEqual(messages.slice(-3), ["signal received", "shutting down", "stopped"]);
  });
}

Deno.test("a taken port stops start-up with a clear message and exit 1", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = await spawnServer({
    env: { PORT: String(taken.addr.port) },
    waitForListening: false,
  });
  const status = await server.status;
  await server.stop();
  assert.equal(status.code, 1);
  assert.ok(
    server.stderr.includes(
      `Cannot listen on 127.0.0.1:${taken.addr.port}: the address is already in use. Stop the other process or choose another port with --port, PORT or server.port`,
    ),
    server.stderr.join("\n"),
  );
});

Deno.test("HOST and PORT choose the listen address", async () => {
  using probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  await using server = await spawnServer({ env: { HOST: "127.0.0.1", PORT: String(port) } });
  assert.equal(server.url, `http://127.0.0.1:${port}`);
  assert.equal((await fetch(`${server.url}/health/live`)).status, 200);
});

Deno.test("a bad environment value exits 78 naming the key and the variable", async () => {
  const server = await spawnServer({
    env: { SYNTH_LOG_LEVEL: "loud" },
    waitForListening: false,
  });
  const status = await server.status;
  await server.stop();
  assert.equal(status.code, 78);
  assert.ok(
    server.stderr.includes(
      'config: log.level must be one of "debug", "info", "warn", "error" (got "loud", from SYNTH_LOG_LEVEL)',
    ),
    server.stderr.join("\n"),
  );
});

Deno.test("--print-config prints JSON with the resolved values and exits 0", async () => {
  const server = await spawnServer({
    args: ["--print-config"],
    env: { PORT: "9123" },
    waitForListening: false,
  });
  const status = await server.status;
  await server.stop();
  assert.equal(status.code, 0);
  const printed = JSON.parse(server.stdout.join("\n"));
  assert.equal(printed.server.port, 9123);
  assert.equal(printed.server.host, "127.0.0.1");
});

Deno.test("a data directory outside the permission set is refused with exit 78 and what to do", async () => {
  const server = await spawnServer({
    env: { SYNTH_DATA_DIR: "/srv/synth-elsewhere" },
    waitForListening: false,
  });
  const status = await server.status;
  await server.stop();
  assert.equal(status.code, 78);
  assert.match(
    server.stderr.join("\n"),
    /Cannot use data directory "\/srv\/synth-elsewhere": the server's permission set allows writing only inside \.\/data\. Choose a directory inside \.\/data with --data-dir or SYNTH_DATA_DIR/,
  );
});

Deno.test("a data directory that cannot be written is refused in one line with exit 78, not a stack trace", async () => {
  const dataDir = await makeTestDir("synth-unwritable-");
  try {
    // Root writes anywhere: a directory where the probe file would go makes the write fail.
    await Deno.mkdir(`${dataDir}/.synth-write-check`);
    // (`serve` takes the same path, prepareDataDir; a server that started anyway would not exit.)
    // (The terminal chat says it cannot start the chat, and exits 1.)
    for (
      const [args, code] of [[["migrate", "up"], 78], [["admin", "create-user", "root"], 78], [
        ["chat"],
        1,
      ]] as const
    ) {
      const run = await runMain(args, { SYNTH_DATA_DIR: dataDir, PORT: "0" });
      assert.equal(run.code, code, `${args.join(" ")}: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /Uncaught| {4}at /);
      assert.match(
        run.stderr,
        new RegExp(`Cannot use data directory "${dataDir}": it cannot be written \\(`),
      );
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a database file that is no SQLite database is refused in one line pointing to restore, by the server and the CLI alike", async () => {
  const dataDir = await makeTestDir("synth-not-a-db-");
  try {
    await Deno.writeTextFile(
      `${dataDir}/synth.db`,
      "not a database, but long enough to be read ".repeat(40),
    );
    for (const args of [["serve"], ["migrate", "status"], ["admin", "list-users"], ["backup"]]) {
      const run = await runMain(args, { SYNTH_DATA_DIR: dataDir, PORT: "0" });
      assert.equal(run.code, 1, args.join(" "));
      assert.doesNotMatch(run.stderr, /Uncaught| {4}at /, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, /Cannot open the database ".*synth\.db": file is not a database/);
      assert.match(run.stderr, /restore a backup \(deno task restore/);
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** Each set's read list in deno.json, which the suggested `--allow-read` repeats. */
const READS = { server: ".,/usr/bin,/bin", cert: "." } as const;

Deno.test("backup, migrate status and cert refuse a data directory outside the permission set the same way, with the command to run (its read list repeats the set's)", async () => {
  for (
    const [args, command, set] of [
      [["backup"], "backup", "server"],
      [["migrate", "status"], "migrate status", "server"],
      [["cert"], "cert", "cert"],
    ] as const
  ) {
    const run = await runMain(args, { SYNTH_DATA_DIR: "/srv/synth-elsewhere" });
    assert.equal(run.code, 78, `${command}: ${run.stderr}`);
    assert.doesNotMatch(run.stderr, /Uncaught|NotCapable/);
    assert.ok(
      run.stderr.includes(
        `Cannot use data directory "/srv/synth-elsewhere": ` +
          (set === "server" ? "the server's" : `the "${set}"`) +
          ` permission set allows writing only inside ./data. Choose a directory inside ./data with SYNTH_DATA_DIR, or run ` +
          `"SYNTH_DATA_DIR=/srv/synth-elsewhere deno run -P=${set} --no-prompt --allow-read=${
            READS[set]
          },/srv/synth-elsewhere --allow-write=/srv/synth-elsewhere src/main.ts ${command}"`,
      ),
      run.stderr,
    );
  }
});

Deno.test(".env is read by the start task, and real environment variables win over it", async () => {
  const cwd = await makeTestDir("synth-envfile-");
  try {
    await Deno.writeTextFile(`${cwd}/.env`, "SYNTH_LOG_LEVEL=warn\nPORT=9999\n");
    const server = await spawnServer({
      cwd,
      useEnvFile: true,
      args: ["--print-config"],
      env: { PORT: "9123" },
      waitForListening: false,
    });
    const status = await server.status;
    await server.stop();
    assert.equal(status.code, 0, server.stderr.join("\n"));
    const printed = JSON.parse(server.stdout.join("\n"));
    assert.equal(printed.log.level, "warn", "set by .env");
    assert.equal(printed.server.port, 9123, "the real PORT wins over .env");
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("deno task start --help and --version answer without starting", async () => {
  for (
    const [flag, pattern] of [["--help", /^Usage: synth-mind/], [
      "--version",
      /^synth-mind \d+\.\d+\.\d+ \(deno /,
    ]] as const
  ) {
    const server = await spawnServer({ args: [flag], waitForListening: false });
    const status = await server.status;
    await server.stop();
    assert.equal(status.code, 0);
    assert.match(server.stdout.join("\n"), pattern);
  }
});
