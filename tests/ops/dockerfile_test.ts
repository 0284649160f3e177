/**
 * The container image (spec/ops.md §7, §15 item 10), read with npm
 * `dockerfile-ast`: the four stages, a distroless `nonroot` final stage
 * without RUN, its USER, EXPOSE, VOLUME, exec-form HEALTHCHECK through the
 * binary, labels, environment and copies; `.dockerignore`. The image itself
 * is built and run in GitHub CI (`.github/workflows/ci.yml`, job `image`).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DockerfileParser, type Instruction, ModifiableInstruction } from "dockerfile-ast";
import { REPO_DIR } from "@synth/testing";

const text = await Deno.readTextFile(join(REPO_DIR, "Dockerfile"));
const dockerfile = DockerfileParser.parse(text);

interface Stage {
  from: string;
  name: string | null;
  platform: string | null;
  instructions: Instruction[];
}

/** The instructions grouped by the FROM that opens each stage. */
function stages(): Stage[] {
  const result: Stage[] = [];
  const froms = dockerfile.getFROMs();
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === "FROM") {
      const from = froms.find((candidate) =>
        candidate.getRange().start.line === instruction.getRange().start.line
      )!;
      result.push({
        from: from.getImage() ?? "",
        name: from.getBuildStage(),
        platform: from.getPlatformFlag()?.getValue() ?? null,
        instructions: [],
      });
    } else {
      result.at(-1)?.instructions.push(instruction);
    }
  }
  return result;
}

const args = (instruction: Instruction) => instruction.getArgumentsContent() ?? "";
/** Flags (`--from=build`) and arguments, as written. */
const withFlags = (instruction: Instruction) =>
  [
    ...(instruction instanceof ModifiableInstruction ? instruction.getFlags() : []).map((flag) =>
      `--${flag.getName()}=${flag.getValue()}`
    ),
    args(instruction),
  ].join(" ");
const byKeyword = (stage: Stage, keyword: string) =>
  stage.instructions.filter((instruction) => instruction.getKeyword() === keyword);

Deno.test("the image has the build, sandbox-tools, deno-bin and distroless final stages, bases pinned", () => {
  const all = stages();
  assert.deepEqual(all.map((stage) => stage.name), ["build", "sandbox-tools", "deno-bin", null]);
  const [build, tools, deno, final] = all as [Stage, Stage, Stage, Stage];
  assert.equal(build.from, "denoland/deno:2.9.6");
  assert.equal(build.platform, "$BUILDPLATFORM");
  assert.equal(tools.from, "debian:12-slim");
  assert.equal(deno.from, "denoland/deno:bin-2.9.6");
  assert.equal(final.from, "gcr.io/distroless/cc-debian12:nonroot");
  for (const from of dockerfile.getFROMs()) {
    const tag = from.getImageTag();
    assert.ok(tag && tag !== "latest", `${from.getImage()} is pinned by a version tag`);
  }
});

Deno.test("the build stage installs frozen, builds the assets and compiles for the target triple", () => {
  const build = stages()[0]!;
  const runs = byKeyword(build, "RUN").map(args).join("\n");
  assert.match(runs, /deno install --frozen/);
  assert.match(runs, /deno task build:web/);
  assert.match(runs, /deno task build:wasm/);
  assert.match(runs, /scripts\/compile\.ts[\s\\]+--target "\$triple"/);
  assert.match(runs, /amd64\) triple=x86_64-unknown-linux-gnu/);
  assert.match(runs, /arm64\) triple=aarch64-unknown-linux-gnu/);
  assert.equal(byKeyword(build, "WORKDIR").map(args)[0], "/app");
  // deno.json and the lock file come first, so the dependency layer is cached.
  const copies = byKeyword(build, "COPY").map(args);
  assert.equal(copies[0], "deno.json deno.lock ./");
  const tools = stages()[1]!;
  const toolRuns = byKeyword(tools, "RUN").map(args).join("\n");
  assert.match(toolRuns, /ldd \/usr\/bin\/prlimit/);
  assert.match(toolRuns, /libsmartcols/);
  assert.match(toolRuns, /cp -L --parents/);
});

Deno.test("the final stage is distroless nonroot without RUN, with the spec's user, port, volume and healthcheck", () => {
  const final = stages().at(-1)!;
  assert.deepEqual(byKeyword(final, "RUN"), [], "no shell exists in distroless");
  assert.deepEqual(byKeyword(final, "USER").map(args), ["65532:65532"]);
  assert.deepEqual(byKeyword(final, "EXPOSE").map(args), ["8080"]);
  assert.deepEqual(byKeyword(final, "VOLUME").map(args), ['["/app/data"]']);
  assert.deepEqual(byKeyword(final, "WORKDIR").map(args), ["/app"]);
  assert.deepEqual(byKeyword(final, "ENTRYPOINT").map(args), ['["/app/synth-mind"]']);
  assert.deepEqual(byKeyword(final, "CMD").map(args), ['["serve"]']);

  const [healthcheck] = dockerfile.getHEALTHCHECKs();
  assert.ok(healthcheck);
  const flags = Object.fromEntries(
    healthcheck.getFlags().map((flag) => [flag.getName(), flag.getValue()]),
  );
  assert.deepEqual(flags, { interval: "30s", timeout: "5s", "start-period": "30s", retries: "3" });
  assert.equal(healthcheck.getSubcommand()?.getValue(), "CMD");
  const command = args(healthcheck).replace(/^.*?CMD\s+/s, "");
  assert.deepEqual(JSON.parse(command), ["/app/synth-mind", "healthcheck"], "exec form, no curl");
});

Deno.test("the final stage sets the spec's environment and copies the binary, sandbox tools, deno and data", () => {
  const final = stages().at(-1)!;
  const env: Record<string, string> = {};
  for (const instruction of dockerfile.getENVs()) {
    if (instruction.getRange().start.line < final.instructions[0]!.getRange().start.line) continue;
    for (const property of instruction.getProperties()) {
      env[property.getName()] = property.getValue() ?? "";
    }
  }
  assert.deepEqual(env, {
    HOST: "0.0.0.0",
    PORT: "8080",
    SYNTH_DATA_DIR: "/app/data",
    DENO_DIR: "/tmp/deno",
    SYNTH_TOOLS_SANDBOX_DENO_PATH: "/usr/local/bin/deno",
    SYNTH_ACCESS_LOG_FILE: "",
    SYNTH_ACCESS_LOG_STDOUT: "true",
    NO_COLOR: "1",
  });
  const copies = byKeyword(final, "COPY").map(withFlags);
  assert.ok(copies.includes("--from=build /app/dist/synth-mind /app/synth-mind"));
  assert.ok(copies.includes("--from=sandbox-tools /out/ /"));
  assert.ok(copies.includes("--from=deno-bin /deno /usr/local/bin/deno"));
  assert.ok(copies.some((copy) => /--chown=65532:65532 .* \/app\/data$/.test(copy)));
});

Deno.test("the final stage carries the OCI labels from build arguments", () => {
  const final = stages().at(-1)!;
  const labels: Record<string, string> = {};
  for (const instruction of byKeyword(final, "LABEL")) {
    const text = args(instruction);
    for (const match of text.matchAll(/(org\.opencontainers\.image\.[a-z]+)="([^"]*)"/g)) {
      labels[match[1]!] = match[2]!;
    }
  }
  assert.deepEqual(Object.keys(labels).sort(), [
    "org.opencontainers.image.created",
    "org.opencontainers.image.description",
    "org.opencontainers.image.documentation",
    "org.opencontainers.image.licenses",
    "org.opencontainers.image.revision",
    "org.opencontainers.image.source",
    "org.opencontainers.image.title",
    "org.opencontainers.image.version",
  ]);
  assert.equal(labels["org.opencontainers.image.version"], "${VERSION}");
  assert.equal(labels["org.opencontainers.image.revision"], "${REVISION}");
  const declared = byKeyword(final, "ARG").map((instruction) => args(instruction).split("=")[0]);
  for (const name of ["VERSION", "REVISION", "CREATED", "SOURCE"]) {
    assert.ok(declared.includes(name), `ARG ${name}`);
  }
});

Deno.test(".dockerignore keeps data, secrets and build output out of the context", async () => {
  const lines = (await Deno.readTextFile(join(REPO_DIR, ".dockerignore"))).split("\n")
    .map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
  for (
    const entry of [
      ".git",
      "data/",
      "node_modules/",
      "dist/",
      ".env",
      ".env.*",
      "!.env.example",
      "bench/results/",
      "coverage/",
    ]
  ) {
    assert.ok(lines.includes(entry), `.dockerignore lists ${entry}`);
  }
  // The negation must come after the pattern it re-includes from.
  assert.ok(lines.indexOf("!.env.example") > lines.indexOf(".env.*"));
});
