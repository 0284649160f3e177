/**
 * Without Chromium (spec/dashboard.md §7, §8 item 15): with `CI` unset the
 * browser tests are skipped and one line says why; with `CI=true` the same
 * line fails the run.
 */
import assert from "node:assert/strict";

const PROBE = "tests/fixtures/e2e_skip_probe.ts";
const LINE =
  "dashboard e2e skipped: no Chromium at /nonexistent/chromium (apt-get install chromium)";

async function runProbe(ci: boolean) {
  const env: Record<string, string> = { CHROME_PATH: "/nonexistent/chromium", NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  if (ci) env.CI = "true";
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["test", "-P=test", "--no-prompt", "--no-check", PROBE],
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
  return { code: result.code, output };
}

Deno.test("without Chromium the browser tests are skipped with one printed line; under CI=true that fails the run", async () => {
  const local = await runProbe(false);
  assert.equal(local.code, 0, local.output);
  assert.ok(local.output.includes(LINE), local.output);
  assert.match(local.output, /0 passed \| 0 failed \| 1 ignored/);
  const ci = await runProbe(true);
  assert.notEqual(ci.code, 0, ci.output);
  assert.ok(ci.output.includes(LINE), ci.output);
});
