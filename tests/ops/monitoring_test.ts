/**
 * Monitoring (spec/ops.md §12, §15 item 16): `promtool check config`,
 * `check rules` and `test rules` where promtool is installed; every metric
 * an alert or a dashboard panel names is exported by a real server's
 * `/metrics` (so no panel is empty by construction); the alerts, rows and
 * provisioning the spec lists exist.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { makeTestDir, REPO_DIR, spawnServer } from "@synth/testing";

// deno-lint-ignore no-explicit-any
type Any = any;
const MONITORING = join(REPO_DIR, "monitoring");
const rules: Any = parse(
  await Deno.readTextFile(join(MONITORING, "rules", "synth-mind.rules.yml")),
);
const alerts: Any[] = rules.groups.flatMap((group: Any) => group.rules);
const dashboard: Any = JSON.parse(
  await Deno.readTextFile(join(MONITORING, "grafana", "dashboards", "synth-mind.json")),
);
const prometheus: Any = parse(await Deno.readTextFile(join(MONITORING, "prometheus.yml")));

async function promtoolAvailable(): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("promtool", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return code === 0;
  } catch {
    return false;
  }
}
const hasPromtool = await promtoolAvailable();
if (!hasPromtool) {
  // deno-lint-ignore no-console
  console.log(
    "promtool is not installed (Debian package prometheus): the promtool checks are skipped",
  );
}

async function promtool(args: string[], cwd: string): Promise<string> {
  const output = await new Deno.Command("promtool", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, `promtool ${args.join(" ")}:\n${text}`);
  return text;
}

const PROMQL_WORDS = new Set([
  "and",
  "or",
  "unless",
  "bool",
  "offset",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
]);

/** The metric names a PromQL expression reads. */
function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\$\w+/g, " ");
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = stripped.slice(match.index! + match[0].length);
    if (/^\s*\(/.test(after)) continue; // a function
    if (PROMQL_WORDS.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

/** Every query of the dashboard: panel targets and the variable's query. */
function dashboardQueries(): Array<{ where: string; expr: string }> {
  const queries: Array<{ where: string; expr: string }> = [];
  for (const panel of dashboard.panels) {
    for (const target of panel.targets ?? []) {
      queries.push({ where: panel.title, expr: target.expr });
    }
  }
  for (const variable of dashboard.templating.list) {
    const match = /^label_values\(([^,)]+)/.exec(variable.query.query ?? variable.query);
    if (match) queries.push({ where: `$${variable.name}`, expr: match[1]! });
  }
  return queries;
}

Deno.test("the metric-name extractor sees metrics, not functions, labels or keywords", () => {
  assert.deepEqual(
    metricNames(
      'histogram_quantile(0.95, sum by (route, le) (rate(synth_x_bucket{route!~"/ws|a"}[5m]))) > 1 and on (instance) up == 0',
    ).sort(),
    ["synth_x_bucket", "up"],
  );
  assert.deepEqual(metricNames('time() - process_start_time_seconds{instance=~"$instance"}'), [
    "process_start_time_seconds",
  ]);
});

Deno.test("every metric the alerts and the dashboard name is exported by a real server", async () => {
  await using server = await spawnServer();
  const response = await fetch(`${server.url}/metrics`);
  assert.equal(response.status, 200);
  const exposition = await response.text();
  const exported = new Set<string>();
  for (const match of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    exported.add(match[1]!);
    if (match[2] === "histogram") {
      for (const suffix of ["_bucket", "_sum", "_count"]) exported.add(match[1]! + suffix);
    }
  }
  assert.ok(exported.size > 30, `${exported.size} metrics exported`);
  // `up` is Prometheus's own series for each scrape target.
  exported.add("up");
  const queries = [
    ...alerts.map((alert) => ({ where: alert.alert, expr: alert.expr })),
    ...dashboardQueries(),
  ];
  const used = new Set<string>();
  const missing: string[] = [];
  for (const { where, expr } of queries) {
    for (const name of metricNames(expr)) {
      used.add(name);
      if (!exported.has(name)) missing.push(`${where}: ${name}`);
    }
  }
  assert.deepEqual(missing, [], "queries name metrics the server does not export");
  // The dashboard covers the exported families, not a handful.
  assert.ok(used.size >= 35, `${used.size} metrics used`);
});

Deno.test("the alert rules are the spec's, with their severities and waits", () => {
  const expected: Record<string, [string, string | undefined]> = {
    SynthMindDown: ["critical", "2m"],
    SynthMindNotReady: ["critical", "5m"],
    SynthMindHighErrorRate: ["warning", "10m"],
    SynthMindSlowRequests: ["warning", "10m"],
    SynthMindLLMFailures: ["warning", "10m"],
    SynthMindLLMProviderDown: ["critical", "5m"],
    SynthMindBudgetNearlyExhausted: ["warning", undefined],
    SynthMindBudgetExhausted: ["warning", undefined],
    SynthMindToolFailures: ["warning", "15m"],
    SynthMindSlowConsumers: ["info", undefined],
    SynthMindDiskLow: ["warning", "5m"],
  };
  assert.deepEqual(alerts.map((alert) => alert.alert).sort(), Object.keys(expected).sort());
  for (const alert of alerts) {
    const [severity, wait] = expected[alert.alert]!;
    assert.equal(alert.labels.severity, severity, alert.alert);
    assert.equal(alert.for, wait, alert.alert);
    assert.ok(alert.annotations.summary && alert.annotations.description, alert.alert);
  }
  const slow = alerts.find((alert) => alert.alert === "SynthMindSlowRequests");
  assert.match(slow.expr, /route!~"[^"]*\/ws[^"]*"/, "streaming routes are excluded");
  assert.match(alerts.find((a) => a.alert === "SynthMindDown").expr, /up\{job="synth-mind"\} == 0/);
});

Deno.test("prometheus.yml scrapes synth:8080 every 15 s with the token file and loads the rules", () => {
  assert.equal(prometheus.global.scrape_interval, "15s");
  assert.equal(prometheus.global.evaluation_interval, "15s");
  const [job] = prometheus.scrape_configs;
  assert.equal(job.job_name, "synth-mind");
  assert.deepEqual(job.static_configs, [{ targets: ["synth:8080"] }]);
  assert.equal(job.authorization.credentials_file, "/run/secrets/metrics_token");
  assert.deepEqual(prometheus.rule_files, ["rules/*.rules.yml"]);
});

Deno.test("Grafana is provisioned with the prometheus datasource and the synth-mind dashboard", async () => {
  const datasources: Any = parse(
    await Deno.readTextFile(join(MONITORING, "grafana/provisioning/datasources/prometheus.yml")),
  );
  assert.equal(datasources.datasources[0].uid, "prometheus");
  assert.equal(datasources.datasources[0].url, "http://prometheus:9090");
  const providers: Any = parse(
    await Deno.readTextFile(join(MONITORING, "grafana/provisioning/dashboards/synth-mind.yml")),
  );
  assert.equal(providers.providers[0].options.path, "/var/lib/grafana/dashboards");
  assert.equal(dashboard.uid, "synth-mind");
  const rows = dashboard.panels.filter((panel: Any) => panel.type === "row").map((row: Any) =>
    row.title
  );
  assert.deepEqual(rows, [
    "Overview",
    "HTTP",
    "LLM",
    "Tools",
    "Turn stages",
    "Memory",
    "Budgets",
    "Mind",
    "Process",
  ]);
  for (const panel of dashboard.panels.filter((panel: Any) => panel.type !== "row")) {
    assert.equal(panel.datasource.uid, "prometheus", panel.title);
    assert.ok(panel.targets.length > 0, panel.title);
  }
  const ids = dashboard.panels.map((panel: Any) => panel.id);
  assert.equal(new Set(ids).size, ids.length, "panel ids are unique");
});

Deno.test({
  name: "promtool accepts the Prometheus config, the alert rules and their unit tests",
  ignore: !hasPromtool,
  async fn() {
    // The config names the compose secret's path; check a copy pointing at a real file.
    const dir = await makeTestDir("synth-promtool-");
    try {
      await Deno.mkdir(join(dir, "rules"));
      for (const name of ["synth-mind.rules.yml", "synth-mind.rules.test.yml"]) {
        await Deno.copyFile(join(MONITORING, "rules", name), join(dir, "rules", name));
      }
      await Deno.writeTextFile(join(dir, "metrics_token"), "a-test-metrics-token\n");
      const config = (await Deno.readTextFile(join(MONITORING, "prometheus.yml")))
        .replaceAll("/run/secrets/metrics_token", join(dir, "metrics_token"));
      await Deno.writeTextFile(join(dir, "prometheus.yml"), config);
      const checked = await promtool(["check", "config", "prometheus.yml"], dir);
      assert.match(checked, /SUCCESS: 11 rules found/);
      await promtool(["check", "rules", "rules/synth-mind.rules.yml"], dir);
      const tested = await promtool(["test", "rules", "rules/synth-mind.rules.test.yml"], dir);
      assert.match(tested, /SUCCESS/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
