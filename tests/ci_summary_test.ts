/**
 * `.ci/deno_summary`, the parser `.ci/run` ends with, fed recorded
 * `deno test` outputs.
 */
import assert from "node:assert/strict";
import { REPO_DIR } from "@synth/testing";

async function summarize(fixture: string, exitCode: number) {
  const output = await new Deno.Command("bash", {
    args: [".ci/deno_summary", `tests/fixtures/ci/${fixture}`, String(exitCode)],
    cwd: REPO_DIR,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { line: new TextDecoder().decode(output.stdout).trim(), code: output.code };
}

Deno.test("all passing with steps and ignored tests", async () => {
  assert.deepEqual(await summarize("pass.log", 0), {
    line: "deno: 3 passed, 0 failed, 1 skipped",
    code: 0,
  });
});

Deno.test("failures keep deno's non-zero exit code", async () => {
  assert.deepEqual(await summarize("fail.log", 1), {
    line: "deno: 1 passed, 1 failed, 1 skipped",
    code: 1,
  });
});

Deno.test("a failure count never exits 0, even if deno's code was 0", async () => {
  assert.deepEqual(await summarize("fail.log", 0), {
    line: "deno: 1 passed, 1 failed, 1 skipped",
    code: 1,
  });
});

Deno.test("filtered-out tests are not counted", async () => {
  assert.deepEqual(await summarize("filtered.log", 0), {
    line: "deno: 0 passed, 0 failed, 0 skipped",
    code: 0,
  });
});

Deno.test("no summary (a type-check error) counts as one failure", async () => {
  assert.deepEqual(await summarize("no_summary.log", 1), {
    line: "deno: 0 passed, 1 failed, 0 skipped",
    code: 1,
  });
  assert.deepEqual((await summarize("no_summary.log", 0)).code, 1);
});

Deno.test("several summary lines are summed and colour codes ignored", async () => {
  assert.deepEqual(await summarize("two_summaries_colored.log", 0), {
    line: "deno: 7 passed, 0 failed, 2 skipped",
    code: 0,
  });
});

Deno.test(".ci/run calls exactly the README's test command", async () => {
  const [run, readme] = await Promise.all([
    Deno.readTextFile(`${REPO_DIR}/.ci/run`),
    Deno.readTextFile(`${REPO_DIR}/README.md`),
  ]);
  const command = "npx -y deno@2.9.6 task test";
  assert.ok(readme.includes(command), "the README shows the test command");
  assert.ok(readme.includes("npx -y deno@2.9.6 task start"), "the README shows the start command");
  assert.match(run, /^npx -y deno@2\.9\.6 task test 2>&1 \| tee "\$log"$/m);
  assert.match(run, /^bash \.ci\/deno_summary "\$log" "\$code"$/m);
});
