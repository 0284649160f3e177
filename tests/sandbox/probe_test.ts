/**
 * The `sandbox` health check (spec/tools.md §3.2, §12 item 18): ok with
 * prlimit; without it the sandbox still runs but the check is degraded with
 * "no memory cap".
 */
import assert from "node:assert/strict";
import { FakeClock, makeTestDir } from "@synth/testing";
import { createSandboxProbe } from "../../src/sandbox/probe.ts";

const hasPrlimit = await new Deno.Command("/usr/bin/prlimit", { args: ["--version"] }).output()
  .then((result) => result.success, () => false);

Deno.test("without prlimit the sandbox check is degraded with 'no memory cap'; with it, ok", async () => {
  const dir = await makeTestDir("synth-probe-");
  try {
    const clock = new FakeClock();
    const missing = await createSandboxProbe({
      clock,
      cwd: dir,
      prlimitPath: `${dir}/no-such-prlimit`,
    }).probeNow();
    assert.equal(missing.status, "degraded");
    assert.match(missing.reason ?? "", /no memory cap/);
    const off = await createSandboxProbe({ clock, cwd: dir, prlimitPath: null }).probeNow();
    assert.equal(off.status, "degraded");
    assert.match(off.reason ?? "", /probe call ok; no memory cap/);
    if (hasPrlimit) {
      const capped = await createSandboxProbe({ clock, cwd: dir, prlimitPath: "/usr/bin/prlimit" })
        .probeNow();
      assert.deepEqual(capped, { status: "ok", reason: "probe call ok" });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
