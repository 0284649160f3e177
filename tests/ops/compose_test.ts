/**
 * `compose.yaml` (spec/ops.md §8, §15 items 11 and 13), parsed with npm
 * `yaml`: only `synth` runs without a profile, the four profiles exist, the
 * server is hardened and published on 127.0.0.1 only, Grafana needs a
 * password, Prometheus has no lifecycle API, and every mounted file exists.
 * `docker compose config` runs for each profile in GitHub CI.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO_DIR } from "@synth/testing";

// deno-lint-ignore no-explicit-any
type Any = any;
const compose: Any = parse(await Deno.readTextFile(join(REPO_DIR, "compose.yaml")));
const services: Record<string, Any> = compose.services;

/** The image repository everywhere (spec/ops.md §7). */
const IMAGE_PATTERN = /^ghcr\.io\/[^/]+\/synth-mind[:@]/;

Deno.test("without a profile only synth runs; postgres, redis, prometheus and grafana are profiles", () => {
  const always = Object.entries(services).filter(([, service]) => !service.profiles)
    .map(([name]) => name);
  assert.deepEqual(always, ["synth"]);
  const profiles = new Set(Object.values(services).flatMap((service) => service.profiles ?? []));
  assert.deepEqual([...profiles].sort(), ["grafana", "postgres", "prometheus", "redis"]);
  assert.deepEqual(services.prometheus.profiles.sort(), ["grafana", "prometheus"]);
  assert.deepEqual(services.grafana.profiles, ["grafana"]);
});

Deno.test("synth runs the GHCR image read-only, non-root, without capabilities, on 127.0.0.1 only", () => {
  const synth = services.synth;
  assert.match(synth.image, IMAGE_PATTERN);
  assert.match(synth.image, /:\$\{SYNTH_VERSION:-dev\}$/);
  assert.equal(synth.build, ".");
  assert.deepEqual(synth.ports, ["127.0.0.1:${SYNTH_PORT:-8080}:8080"]);
  assert.deepEqual(synth.env_file, [{ path: ".env", required: false }]);
  assert.ok("SYNTH_DATABASE_URL" in synth.environment && "SYNTH_REDIS_URL" in synth.environment);
  assert.deepEqual(synth.volumes, ["synth-data:/app/data"]);
  assert.equal(synth.read_only, true);
  assert.deepEqual(synth.tmpfs, ["/tmp:size=256m"]);
  assert.equal(synth.user, "65532:65532");
  assert.deepEqual(synth.cap_drop, ["ALL"]);
  assert.deepEqual(synth.security_opt, ["no-new-privileges:true"]);
  assert.deepEqual(synth.healthcheck.test, ["CMD", "/app/synth-mind", "healthcheck"]);
  assert.equal(synth.restart, "unless-stopped");
  assert.equal(synth.stop_grace_period, "30s");
  assert.ok(!("container_name" in synth), "a fixed container name blocks scaling");
});

Deno.test("every published port is bound to 127.0.0.1 and no service sets container_name", () => {
  for (const [name, service] of Object.entries(services)) {
    for (const port of service.ports ?? []) {
      assert.match(String(port), /^127\.0\.0\.1:/, `${name} publishes ${port}`);
    }
    assert.ok(!("container_name" in service), name);
  }
  assert.ok(!services.postgres.ports, "PostgreSQL is not published");
  assert.ok(!services.redis.ports, "Redis is not published");
});

Deno.test("postgres, redis, prometheus and grafana are pinned and configured as the spec says", () => {
  for (const [name, service] of Object.entries(services)) {
    if (name === "synth") continue;
    assert.match(service.image, /:[^:]+$/, `${name} has a tag`);
    assert.doesNotMatch(service.image, /:latest$/, `${name} is pinned`);
  }
  assert.match(services.postgres.image, /^pgvector\/pgvector:/);
  assert.equal(services.postgres.environment.POSTGRES_PASSWORD, "${POSTGRES_PASSWORD:?set it}");
  assert.match(services.postgres.healthcheck.test.join(" "), /pg_isready/);
  assert.equal(services.redis.image, "redis:7.2-alpine");
  assert.deepEqual(services.redis.command, ["redis-server", "--save", "", "--appendonly", "no"]);
  assert.deepEqual(services.redis.healthcheck.test, ["CMD", "redis-cli", "ping"]);

  const prometheus = services.prometheus;
  assert.match(prometheus.image, /^prom\/prometheus:v\d+\.\d+\.\d+$/);
  assert.ok(prometheus.command.includes("--storage.tsdb.retention.time=15d"));
  assert.ok(
    !prometheus.command.some((flag: string) => flag.startsWith("--web.enable-lifecycle")),
    "no lifecycle API",
  );
  assert.deepEqual(prometheus.ports, ["127.0.0.1:9090:9090"]);
  assert.deepEqual(prometheus.secrets, ["metrics_token"]);
  assert.ok(compose.secrets.metrics_token, "the metrics token is a compose secret");

  const grafana = services.grafana;
  assert.match(grafana.image, /^grafana\/grafana:\d+\.\d+\.\d+$/);
  assert.equal(grafana.environment.GF_SECURITY_ADMIN_PASSWORD, "${GRAFANA_ADMIN_PASSWORD:?set it}");
  assert.equal(grafana.environment.GF_USERS_ALLOW_SIGN_UP, "false");
  assert.equal(grafana.environment.GF_ANALYTICS_REPORTING_ENABLED, "false");
  assert.equal(grafana.environment.GF_ANALYTICS_CHECK_FOR_UPDATES, "false");
  assert.deepEqual(grafana.ports, ["127.0.0.1:3000:3000"]);
  assert.ok(
    grafana.volumes.includes("./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro"),
    "provisioning is mounted read-only",
  );
});

Deno.test("every file or directory compose mounts exists", () => {
  let mounts = 0;
  for (const [name, service] of Object.entries(services)) {
    for (const volume of service.volumes ?? []) {
      const source = String(volume).split(":")[0]!;
      if (!source.startsWith(".")) continue; // a named volume
      mounts++;
      assert.ok(existsSync(join(REPO_DIR, source)), `${name} mounts ${source}, which is missing`);
    }
  }
  for (const [name, secret] of Object.entries<Any>(compose.secrets ?? {})) {
    if (secret.file) assert.ok(existsSync(join(REPO_DIR, secret.file)), `secret ${name}`);
  }
  assert.ok(mounts >= 4);
  for (const name of Object.keys(compose.volumes)) {
    assert.ok(
      Object.values(services).some((service) =>
        (service.volumes ?? []).some((volume: string) => volume.startsWith(`${name}:`))
      ),
      `volume ${name} is used`,
    );
  }
});

Deno.test("the name Prometheus scrapes passes synth's Host check (on with publicUrl or allowedHosts)", async () => {
  const prometheus: Any = parse(
    await Deno.readTextFile(join(REPO_DIR, "monitoring", "prometheus.yml")),
  );
  const targets: string[] = prometheus.scrape_configs.flatMap((job: Any) =>
    job.static_configs.flatMap((config: Any) => config.targets)
  );
  const allowed = String(compose.services.synth.environment.SYNTH_SERVER_ALLOWED_HOSTS)
    .replace(/^\$\{SYNTH_SERVER_ALLOWED_HOSTS:-(.*)\}$/, "$1").split(",");
  for (const target of targets) {
    assert.ok(allowed.includes(target.replace(/:\d+$/, "")), `${target} in ${allowed}`);
  }
});
