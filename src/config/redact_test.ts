import assert from "node:assert/strict";
import { z } from "zod";
import { configMeta, listConfigFields } from "./fields.ts";
import { loadConfig } from "./load.ts";
import { redactConfig, redactUrlUserInfo, secretConfigValues } from "./redact.ts";
import { buildConfigSchema } from "./schema.ts";

Deno.test("redactConfig() hides secrets and URL user-info and keeps the rest", () => {
  const schema = buildConfigSchema([{
    id: "store",
    schema: z.strictObject({
      password: z.string().nullable().default(null).meta(configMeta({ secret: true })),
      unsetSecret: z.string().nullable().default(null).meta(configMeta({ secret: true })),
      url: z.string().default("postgres://app:hunter2@db:5432/synth"),
      name: z.string().default("main"),
    }),
  }]);
  const { config } = loadConfig({ schema, input: { store: { password: "hunter2" } } });
  const printed = redactConfig(config, listConfigFields(schema));
  assert.deepEqual(printed.store, {
    password: "***",
    unsetSecret: null,
    url: "postgres://***@db:5432/synth",
    name: "main",
  });
  assert.ok(!JSON.stringify(printed).includes("hunter2"));
  assert.equal((printed.server as { port: number }).port, 8080);
});

Deno.test("redactUrlUserInfo() leaves URLs without user-info and plain text alone", () => {
  assert.equal(redactUrlUserInfo("redis://:pw@cache:6379"), "redis://***@cache:6379");
  assert.equal(redactUrlUserInfo("https://api.example.com/v1"), "https://api.example.com/v1");
  assert.equal(redactUrlUserInfo("user@example.com"), "user@example.com");
});

Deno.test("secret config values are collected from the schema's secret keys, unset ones skipped", () => {
  const schema = z.strictObject({
    a: z.strictObject({
      token: z.string().nullable().default(null).meta(configMeta({ secret: true })),
      name: z.string().default("visible"),
    }),
    key: z.string().nullable().default(null).meta(configMeta({ secret: true })),
  });
  const config = { a: { token: "tok-0123456789", name: "visible" }, key: null };
  assert.deepEqual(secretConfigValues(config, listConfigFields(schema)), ["tok-0123456789"]);
});
