/**
 * Every `tests/scenarios/*.yaml` state-dynamics scenario, each its own test.
 */
import assert from "node:assert/strict";
import { loadScenario, runScenario } from "./run.ts";

const dir = new URL(".", import.meta.url).pathname;
for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name))) {
  if (!entry.name.endsWith(".yaml")) continue;
  const scenario = await loadScenario(dir + entry.name);
  Deno.test(`scenario ${entry.name}: ${scenario.name}`, async () => {
    const failures = await runScenario(scenario);
    assert.deepEqual(failures, [], failures.join("\n"));
  });
}
