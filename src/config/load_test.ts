import assert from "node:assert/strict";
import { z } from "zod";
import { configMeta, listConfigFields } from "./fields.ts";
import { ConfigError, loadConfig, type LoadConfigOptions } from "./load.ts";
import { buildConfigSchema, KERNEL_CONFIG_SHAPE } from "./schema.ts";

const pluginSchema = z.strictObject({
  greeting: z.string().default("Hello"),
  apiToken: z.string().nullable().default(null).meta(configMeta({ secret: true })),
  tags: z.array(z.string()).default([]),
  retries: z.number().int().min(0).max(5).default(2),
});
const schema = buildConfigSchema([{ id: "hello", schema: pluginSchema }]);

function load(options: Partial<LoadConfigOptions> & { files?: Record<string, string> } = {}) {
  const files = options.files ?? {};
  return loadConfig({
    schema,
    cwd: "/app",
    readTextFile: (path) => files[path],
    ...options,
  });
}

function configErrorLines(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error.message.split("\n");
  }
  assert.fail("expected a ConfigError");
}

Deno.test("loadConfig() fills every default when no file or variable is set", () => {
  const { config, origin } = load();
  assert.equal(origin.file, null);
  assert.equal(config.server.host, "127.0.0.1");
  assert.equal(config.server.port, 8080);
  assert.equal(config.dataDir, "./data");
  assert.deepEqual(config.hello, { greeting: "Hello", apiToken: null, tags: [], retries: 2 });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.server));
});

Deno.test("loadConfig() reads synth.config.jsonc with comments and trailing commas first", () => {
  const { config, origin } = load({
    files: {
      "/app/synth.config.jsonc": `{
        // a comment
        "server": { "port": 9000, },
        "hello": { "greeting": "Hi" },
      }`,
      "/app/synth.config.json": `{ "server": { "port": 1 } }`,
    },
  });
  assert.equal(origin.file, "/app/synth.config.jsonc");
  assert.equal(config.server.port, 9000);
  assert.equal((config.hello as { greeting: string }).greeting, "Hi");
});

Deno.test("an unknown key stops loading with a message naming it and the known keys", () => {
  const lines = configErrorLines(() =>
    load({ files: { "/app/synth.config.json": `{ "server": { "prot": 80 }, "helo": {} }` } })
  );
  // The known keys are every key of that level, in schema order.
  const serverKeys = Object.keys(KERNEL_CONFIG_SHAPE.server.unwrap().shape).join(", ");
  const topKeys = [...Object.keys(KERNEL_CONFIG_SHAPE), "hello"].join(", ");
  assert.deepEqual(lines, [
    `config: server.prot is not a known key (expected one of: ${serverKeys}; from /app/synth.config.json)`,
    `config: helo is not a known key (expected one of: ${topKeys}; from /app/synth.config.json)`,
  ]);
  assert.ok(serverKeys.startsWith("host, port, "));
});

Deno.test("a plugin entry's unknown key names the entry's keys; two entries with one id are refused", () => {
  const typo = configErrorLines(() =>
    load({
      files: {
        "/app/synth.config.json":
          `{ "plugins": [{ "id": "wordcount", "from": "./wc/mod.ts", "permisions": {} }] }`,
      },
    })
  );
  assert.deepEqual(typo, [
    "config: plugins.0.permisions is not a known key (expected one of: id, from, permissions, " +
    "config, enabled, trustFragments; from /app/synth.config.json)",
  ]);
  const twice = configErrorLines(() =>
    load({
      files: {
        "/app/synth.config.json":
          `{ "plugins": [{ "id": "dice", "from": "./a.ts" }, { "id": "dice", "from": "./b.ts" }] }`,
      },
    })
  );
  assert.equal(twice.length, 1);
  assert.match(
    twice[0]!,
    /^config: plugins\.1\.id is already the id of plugins\.0: each plugin needs its own id/,
  );
});

Deno.test("an invalid value names the key, the expected form, the value and its source", () => {
  const lines = configErrorLines(() =>
    load({
      files: {
        "/app/synth.config.json": `{ "server": { "port": 70000 }, "log": { "level": "loud" } }`,
      },
    })
  );
  assert.deepEqual(lines, [
    "config: server.port must be an integer from 0 to 65535 (got 70000, from /app/synth.config.json)",
    'config: log.level must be one of "debug", "info", "warn", "error" (got "loud", from /app/synth.config.json)',
  ]);
});

Deno.test("a bad environment value names the key and the variable", () => {
  const lines = configErrorLines(() =>
    load({ env: (name) => ({ SYNTH_HELLO_RETRIES: "many" })[name] })
  );
  assert.deepEqual(lines, [
    'config: hello.retries must be an integer from 0 to 5 (got "many", from SYNTH_HELLO_RETRIES)',
  ]);
});

Deno.test("a value failing two checks is one line saying what the key takes", () => {
  const lines = configErrorLines(() =>
    load({ env: (name) => ({ SYNTH_SERVER_PUBLIC_URL: "notaurl" })[name] })
  );
  assert.deepEqual(lines, [
    'config: server.publicUrl must be an http(s) URL with no path (https://host[:port]), or null (got "notaurl", from SYNTH_SERVER_PUBLIC_URL)',
  ]);
});

Deno.test("a secret that is too short says how long it must be, without showing it", () => {
  const lines = configErrorLines(() =>
    load({ env: (name) => ({ SYNTH_METRICS_TOKEN: "abcdefghijklmno" })[name] })
  );
  assert.deepEqual(lines, [
    "config: metrics.token must be a string of at least 16 characters, or null (got ***, from SYNTH_METRICS_TOKEN)",
  ]);
});

Deno.test("environment beats the file and flags beat the environment", () => {
  const files = { "/app/synth.config.json": `{ "server": { "port": 9000, "host": "127.0.0.2" } }` };
  const env = (name: string) =>
    ({ SYNTH_SERVER_PORT: "9100", SYNTH_SERVER_HOST: "127.0.0.3", SYNTH_HELLO_TAGS: "a, b,,c" })[
      name
    ];
  const fromEnv = load({ files, env });
  assert.equal(fromEnv.config.server.port, 9100);
  assert.equal(fromEnv.config.server.host, "127.0.0.3");
  assert.deepEqual((fromEnv.config.hello as { tags: string[] }).tags, ["a", "b", "c"]);
  assert.deepEqual(fromEnv.origin.overrides, {
    "server.host": "SYNTH_SERVER_HOST",
    "server.port": "SYNTH_SERVER_PORT",
    "hello.tags": "SYNTH_HELLO_TAGS",
  });
  const fromFlags = load({ files, env, flags: { "--port": "9200" } });
  assert.equal(fromFlags.config.server.port, 9200);
  assert.equal(fromFlags.origin.overrides["server.port"], "--port");
});

Deno.test("HOST and PORT set the listen address, and the SYNTH_ names win over them", () => {
  const aliases = load({ env: (name) => ({ HOST: "0.0.0.0", PORT: "3000" })[name] });
  assert.equal(aliases.config.server.host, "0.0.0.0");
  assert.equal(aliases.config.server.port, 3000);
  assert.equal(aliases.origin.overrides["server.port"], "PORT");
  const both = load({ env: (name) => ({ PORT: "3000", SYNTH_SERVER_PORT: "3001" })[name] });
  assert.equal(both.config.server.port, 3001);
});

Deno.test("a secret can come from <VAR>_FILE, without its trailing newline", () => {
  const { config, origin } = load({
    files: { "/run/secrets/token": "s3cret-token-value\n" },
    env: (name) => ({ SYNTH_HELLO_API_TOKEN_FILE: "/run/secrets/token" })[name],
  });
  assert.equal((config.hello as { apiToken: string }).apiToken, "s3cret-token-value");
  assert.equal(origin.overrides["hello.apiToken"], "SYNTH_HELLO_API_TOKEN_FILE");
  const lines = configErrorLines(() =>
    load({ env: (name) => ({ SYNTH_HELLO_API_TOKEN_FILE: "/missing" })[name] })
  );
  assert.deepEqual(lines, [
    'config: hello.apiToken must name an existing file (got "/missing", from SYNTH_HELLO_API_TOKEN_FILE)',
  ]);
});

Deno.test("an invalid secret is reported without its value", () => {
  const lines = configErrorLines(() =>
    load({ files: { "/app/synth.config.json": `{ "hello": { "apiToken": 12345 } }` } })
  );
  assert.deepEqual(lines, [
    "config: hello.apiToken must be a string, or null (got ***, from /app/synth.config.json)",
  ]);
});

Deno.test("an empty environment value means null", () => {
  const { config } = load({
    files: { "/app/synth.config.json": `{ "health": { "readyRequires": ["config"] } }` },
    env: (name) => ({ SYNTH_HEALTH_READY_REQUIRES: "" })[name],
  });
  assert.equal(config.health.readyRequires, null);
});

Deno.test("a file named by --config or SYNTH_CONFIG must exist and parse", () => {
  assert.deepEqual(configErrorLines(() => load({ flags: { "--config": "/etc/synth.json" } })), [
    'config: the config file "/etc/synth.json" does not exist (from --config)',
  ]);
  assert.deepEqual(
    configErrorLines(() => load({ env: (name) => ({ SYNTH_CONFIG: "/x.json" })[name] })),
    ['config: the config file "/x.json" does not exist (from SYNTH_CONFIG)'],
  );
  assert.deepEqual(
    configErrorLines(() =>
      load({ files: { "/app/synth.config.json": `{\n  "server": { "port": 1 \n}` } })
    ),
    ["config: /app/synth.config.json:3:2 is not valid JSON with comments (CloseBraceExpected)"],
  );
  assert.deepEqual(
    configErrorLines(() => load({ files: { "/app/synth.config.json": `[1, 2]` } })),
    ["config: /app/synth.config.json must contain a JSON object at the top level"],
  );
});

Deno.test("listConfigFields() maps each key to SYNTH_ + its path in upper snake case", () => {
  const fields = listConfigFields(schema);
  const byKey = Object.fromEntries(fields.map((field) => [field.key, field]));
  assert.equal(byKey["server.shutdownGraceMs"]?.env, "SYNTH_SERVER_SHUTDOWN_GRACE_MS");
  assert.equal(byKey["dataDir"]?.env, "SYNTH_DATA_DIR");
  assert.equal(byKey["hello.apiToken"]?.env, "SYNTH_HELLO_API_TOKEN");
  assert.equal(byKey["hello.apiToken"]?.secret, true);
  assert.deepEqual(byKey["server.port"]?.aliases, ["PORT"]);
});

Deno.test("a plugin schema that accepts unknown keys is refused when config loads", () => {
  const loose = buildConfigSchema([{ id: "loose", schema: z.object({ a: z.string() }) }]);
  assert.throws(
    () => listConfigFields(loose),
    /loose.*accepts unknown keys; declare it with z.strictObject/,
  );
});

Deno.test("buildConfigSchema() refuses a plugin id that is a kernel section", () => {
  assert.throws(() => buildConfigSchema([{ id: "server" }]), /the kernel owns that section name/);
});

Deno.test("two keys mapping to one environment variable are refused", () => {
  const clash = z.strictObject({ aB: z.string().default(""), a_b: z.string().default("") });
  assert.throws(
    () => listConfigFields(buildConfigSchema([{ id: "clash", schema: clash }])),
    /both become SYNTH_CLASH_A_B/,
  );
});

Deno.test("numbers from the environment must be plain decimals", () => {
  for (const text of ["0x1F", "1e3", "12abc"]) {
    const lines = configErrorLines(() => load({ env: (name) => ({ PORT: text })[name] }));
    assert.deepEqual(lines, [
      `config: server.port must be an integer from 0 to 65535 (got "${text}", from PORT)`,
    ]);
  }
});

Deno.test("an override under a key the file set to a non-object reports the file's value", () => {
  const lines = configErrorLines(() =>
    load({
      files: { "/app/synth.config.json": `{ "server": "oops" }` },
      env: (name) => ({ PORT: "9000" })[name],
    })
  );
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^config: server .*\(got "oops", from \/app\/synth\.config\.json\)$/);
});

Deno.test("an empty variable is reported as an empty value", () => {
  assert.deepEqual(configErrorLines(() => load({ env: (name) => ({ HOST: "" })[name] })), [
    "config: server.host must be a host name or an IP address (got an empty value, from HOST)",
  ]);
});

Deno.test("a host that is neither a name nor an address is refused", () => {
  assert.deepEqual(configErrorLines(() => load({ flags: { "--host": "not_a_host!!" } })), [
    'config: server.host must be a host name or an IP address (got "not_a_host!!", from --host)',
  ]);
  for (const host of ["localhost", "0.0.0.0", "::1", "[::1]", "synth.example.com"]) {
    assert.equal(load({ flags: { "--host": host } }).config.server.host, host);
  }
});

Deno.test("delays are capped where timers stop working", () => {
  assert.deepEqual(
    configErrorLines(() =>
      load({ env: (name) => ({ SYNTH_SERVER_SHUTDOWN_GRACE_MS: "3000000000" })[name] })
    ),
    [
      "config: server.shutdownGraceMs must be an integer from 0 to 2147483647 (got 3000000000, from SYNTH_SERVER_SHUTDOWN_GRACE_MS)",
    ],
  );
});

Deno.test("a second config file that is ignored is reported in the origin", () => {
  const { origin } = load({
    files: { "/app/synth.config.jsonc": "{}", "/app/synth.config.json": "{}" },
  });
  assert.equal(origin.file, "/app/synth.config.jsonc");
  assert.deepEqual(origin.ignoredFiles, ["/app/synth.config.json"]);
});

Deno.test("a pattern in an error keeps its case", () => {
  const lines = configErrorLines(() =>
    load({
      files: {
        "/app/synth.config.json":
          `{ "llm": { "providers": { "main": { "type": "openai", "apiKeyEnv": "my_key" } } } }`,
      },
    })
  );
  assert.match(lines.join("\n"), /llm\.providers\.main\.apiKeyEnv .*\/\^\[A-Z\]\[A-Z0-9_\]\*\$\//);
});
