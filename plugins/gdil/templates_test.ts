import assert from "node:assert/strict";
import { join } from "node:path";
import { AppError, ConfigurationError } from "@synth/kernel";
import { makeTestDir } from "@synth/testing";
import { stringify } from "yaml";
import { topologicalOrder, validatePlan } from "./plan_validate.ts";
import { nextTask } from "./select.ts";
import { findTemplate, loadTemplates, TEMPLATE_LIMITS } from "./templates.ts";
import type { Task, Template } from "./types.ts";

/** spec/projects.md §10: per task [name, priority, dependencies by task number]. */
type Row = [string, number, number[]];

function chain(...names: string[]): Row[] {
  return names.map((name, i) => [name, i + 1, i === 0 ? [] : [i]]);
}

const TABLE: Record<string, { name: string; category: string; rows: Row[] }> = {
  "web-app": {
    name: "Web Application",
    category: "Web Development",
    rows: [
      ["Requirements & Architecture", 1, []],
      ["Database Schema", 2, [1]],
      ["Backend API", 3, [2]],
      ["Frontend UI", 3, [1]],
      ["Integration", 4, [3, 4]],
      ["Testing", 5, [5]],
      ["Deployment", 6, [6]],
    ],
  },
  "api": {
    name: "REST API",
    category: "Web Development",
    rows: [
      ["API Design", 1, []],
      ["Data Models", 2, [1]],
      ["Core Endpoints", 3, [2]],
      ["Authentication", 3, [1]],
      ["Validation & Error Handling", 4, [3]],
      ["Testing & Documentation", 5, [5]],
    ],
  },
  "data-analysis": {
    name: "Data Analysis",
    category: "Data Science",
    rows: chain(
      "Data Understanding",
      "Data Cleaning",
      "Exploratory Analysis",
      "Deep Analysis",
      "Visualizations",
      "Report & Recommendations",
    ),
  },
  "ml-model": {
    name: "Machine Learning Model",
    category: "Data Science",
    rows: chain(
      "Problem Definition",
      "Data Preparation",
      "Feature Engineering",
      "Model Selection",
      "Training & Tuning",
      "Evaluation",
      "Deployment",
    ),
  },
  "refactor": {
    name: "Code Refactoring",
    category: "Code Quality",
    rows: [
      ["Code Audit", 1, []],
      ["Test Coverage", 2, [1]],
      ["Extract Functions", 3, [2]],
      ["Improve Naming", 3, [2]],
      ["Remove Duplication", 4, [3]],
      ["Simplify Logic", 5, [5]],
      ["Documentation", 6, [6]],
    ],
  },
  "bug-fix": {
    name: "Bug Investigation & Fix",
    category: "Code Quality",
    rows: chain(
      "Reproduce Bug",
      "Isolate Cause",
      "Design Fix",
      "Implement Fix",
      "Write Test",
      "Verify & Document",
    ),
  },
  "new-feature": {
    name: "New Feature",
    category: "Features",
    rows: chain("Requirements", "Design", "Implementation", "Integration", "Testing", "Polish"),
  },
  "documentation": {
    name: "Documentation",
    category: "Documentation",
    rows: [
      ["Audit Current Docs", 1, []],
      ["README & Quickstart", 2, [1]],
      ["API Reference", 3, [1]],
      ["Tutorials", 4, [2]],
      ["Architecture Docs", 4, [1]],
      ["Review & Polish", 5, [4, 5]],
    ],
  },
  "test-suite": {
    name: "Test Suite",
    category: "Testing",
    rows: chain(
      "Test Strategy",
      "Test Infrastructure",
      "Unit Tests",
      "Integration Tests",
      "E2E Tests",
      "CI Integration",
    ),
  },
  "cli-tool": {
    name: "CLI Tool",
    category: "Tools",
    rows: [
      ["Command Design", 1, []],
      ["CLI Framework", 2, [1]],
      ["Core Commands", 3, [2]],
      ["Input/Output", 4, [3]],
      ["Configuration", 5, [3]],
      ["Packaging", 6, [5]],
    ],
  },
};

const BUILT_IN_IDS = Object.keys(TABLE);

function asTasks(template: Template): Task[] {
  return template.tasks.map((task) => ({
    ...task,
    id: task.key,
    done: false,
    blocked: false,
    progress: 0,
    iterations: 0,
    lowStreak: 0,
    plannedStart: null,
    plannedEnd: null,
    startedAt: null,
    finishedAt: null,
  }));
}

const VALID_USER_TEMPLATE = {
  id: "blog-post",
  name: "Blog Post",
  category: "Writing",
  description: "A blog post from outline to publication.",
  tags: ["writing"],
  suggestedBrief: "Write and publish a blog post on a chosen topic.",
  endTransformation: "From a topic to a published post",
  questions: ["What is the topic?", "Who reads it?", "How long should it be?"],
  tasks: ["Outline", "Draft", "Edit", "Publish"].map((name, i, all) => ({
    key: name.toLowerCase(),
    name,
    priority: i + 1,
    dependsOn: i === 0 ? [] : [all[i - 1]!.toLowerCase()],
    estimate: { iterations: 2, hours: 2 },
    milestone: i === all.length - 1,
  })),
};

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await makeTestDir("gdil-templates-");
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function rejection(promise: Promise<unknown>): Promise<ConfigurationError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigurationError, `not a ConfigurationError: ${error}`);
    return error;
  }
  assert.fail("expected a rejection");
}

Deno.test("the ten built-in templates load in §10 order and pass the plan checks", async () => {
  const templates = await loadTemplates([]);
  assert.deepEqual(templates.map((t) => t.id), BUILT_IN_IDS);
  for (const template of templates) {
    assert.deepEqual(validatePlan(template.tasks, TEMPLATE_LIMITS), [], template.id);
    assert.equal(template.questions.length, 5, template.id);
    assert.match(template.endTransformation, /^From .+ to .+/, template.id);
    assert.ok(template.tags.length > 0, template.id);
    for (const task of template.tasks) {
      assert.deepEqual(task.estimate, { iterations: 2, hours: 2 }, `${template.id}/${task.key}`);
      assert.ok(task.description.length > 0, `${template.id}/${task.key}`);
    }
    const milestones = template.tasks.map((task) => task.milestone);
    assert.deepEqual(milestones, template.tasks.map((_, i) => i === template.tasks.length - 1));
  }
});

Deno.test("every built-in template has §10's names, categories, priorities and dependencies", async () => {
  const templates = await loadTemplates([]);
  for (const template of templates) {
    const expected = TABLE[template.id]!;
    assert.equal(template.name, expected.name);
    assert.equal(template.category, expected.category);
    const keys = template.tasks.map((task) => task.key);
    assert.deepEqual(
      template.tasks.map((task) => [task.name, task.priority, task.dependsOn]),
      expected.rows.map(([name, priority, deps]) => [name, priority, deps.map((n) => keys[n - 1])]),
      template.id,
    );
  }
});

Deno.test("the web-app graph equals §10 by key and runs in task-number order", async () => {
  const webApp = findTemplate(await loadTemplates([]), "web-app");
  assert.deepEqual(
    Object.fromEntries(webApp.tasks.map((task) => [task.key, task.dependsOn])),
    {
      "requirements-architecture": [],
      "database-schema": ["requirements-architecture"],
      "backend-api": ["database-schema"],
      "frontend-ui": ["requirements-architecture"],
      "integration": ["backend-api", "frontend-ui"],
      "testing": ["integration"],
      "deployment": ["testing"],
    },
  );
  const keys = webApp.tasks.map((task) => task.key);
  assert.deepEqual(topologicalOrder(webApp.tasks).map((task) => task.key), keys);
  let tasks = asTasks(webApp);
  const order: string[] = [];
  for (let task = nextTask(tasks); task !== null; task = nextTask(tasks)) {
    for (const dep of task.dependsOn) assert.ok(order.includes(dep), `${task.key} before ${dep}`);
    order.push(task.key);
    tasks = tasks.map((t) => t.id === task!.id ? { ...t, done: true, progress: 1 } : t);
  }
  assert.deepEqual(order, keys);
});

Deno.test("valid user templates in YAML, YML and JSON are listed after the built-ins", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "blog.yaml"), stringify(VALID_USER_TEMPLATE));
    await Deno.writeTextFile(
      join(dir, "essay.yml"),
      stringify({ ...VALID_USER_TEMPLATE, id: "essay", name: "Essay" }),
    );
    await Deno.writeTextFile(
      join(dir, "memo.json"),
      JSON.stringify({ ...VALID_USER_TEMPLATE, id: "memo", name: "Memo" }),
    );
    await Deno.writeTextFile(join(dir, "notes.txt"), "not a template");
    const templates = await loadTemplates([dir]);
    assert.deepEqual(templates.map((t) => t.id), [...BUILT_IN_IDS, "blog-post", "essay", "memo"]);
    const blog = findTemplate(templates, "blog-post");
    assert.equal(blog.tasks[0]!.description, "");
    assert.deepEqual(blog.tasks[3]!.dependsOn, ["edit"]);
  });
});

Deno.test("an invalid user template names the file and the field", async () => {
  await withDir(async (dir) => {
    const tasks = VALID_USER_TEMPLATE.tasks.map((task) => ({ ...task }));
    tasks[2] = { ...tasks[2]!, dependsOn: ["x"] };
    const file = join(dir, "foo.yaml");
    await Deno.writeTextFile(file, stringify({ ...VALID_USER_TEMPLATE, tasks }));
    const error = await rejection(loadTemplates([dir]));
    assert.equal(error.code, "GDIL_TEMPLATE_INVALID");
    assert.ok(
      error.message.startsWith(`${file}: tasks.2.dependsOn: unknown key 'x'`),
      error.message,
    );
  });
});

Deno.test("a schema error names the file and the field path", async () => {
  await withDir(async (dir) => {
    const tasks = VALID_USER_TEMPLATE.tasks.map((task) => ({ ...task }));
    tasks[1] = { ...tasks[1]!, priority: 0 };
    const file = join(dir, "bad.json");
    await Deno.writeTextFile(file, JSON.stringify({ ...VALID_USER_TEMPLATE, tasks, extra: 1 }));
    const error = await rejection(loadTemplates([dir]));
    assert.ok(error.message.startsWith(`${file}: `), error.message);
    assert.match(error.message, /tasks\.1\.priority: /);
    assert.match(error.message, /\(root\): .*extra/);
  });
});

Deno.test("a file that is not YAML names the file", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "broken.yaml");
    await Deno.writeTextFile(file, "id: [unclosed\n");
    const error = await rejection(loadTemplates([dir]));
    assert.ok(error.message.startsWith(`${file}: cannot be read or parsed`), error.message);
  });
});

Deno.test("a duplicate template id is refused, naming both files", async () => {
  await withDir(async (dir) => {
    const file = join(dir, "web.json");
    await Deno.writeTextFile(file, JSON.stringify({ ...VALID_USER_TEMPLATE, id: "web-app" }));
    const error = await rejection(loadTemplates([dir]));
    assert.ok(
      error.message.startsWith(`${file}: id: duplicate template id 'web-app' (already defined by `),
      error.message,
    );
    assert.match(error.message, /web-app\.yaml\)/);
  });
  await withDir(async (dir) => {
    await Deno.mkdir(join(dir, "a"));
    await Deno.mkdir(join(dir, "b"));
    await Deno.writeTextFile(join(dir, "a", "x.json"), JSON.stringify(VALID_USER_TEMPLATE));
    await Deno.writeTextFile(join(dir, "b", "y.json"), JSON.stringify(VALID_USER_TEMPLATE));
    const error = await rejection(loadTemplates([join(dir, "a"), join(dir, "b")]));
    assert.match(error.message, /y\.json: id: duplicate template id 'blog-post'/);
  });
});

Deno.test("a template folder that cannot be read stops start-up", async () => {
  await withDir(async (dir) => {
    const missing = join(dir, "missing");
    const error = await rejection(loadTemplates([missing]));
    assert.equal(error.code, "GDIL_TEMPLATE_DIR_UNREADABLE");
    assert.ok(error.message.includes(missing));
  });
});

Deno.test("templates are found by id, then by exact or prefix id or name, ignoring case", async () => {
  const templates = await loadTemplates([]);
  const find = (ref: string) => findTemplate(templates, ref).id;
  assert.equal(find("api"), "api");
  assert.equal(find("API"), "api");
  assert.equal(find("Documentation"), "documentation");
  assert.equal(find("web"), "web-app");
  assert.equal(find("Web App"), "web-app");
  assert.equal(find("test"), "test-suite");
  assert.equal(find("machine"), "ml-model");
  assert.equal(find("code"), "refactor");
  assert.equal(find("  bug "), "bug-fix");
  const withV2 = [...templates, { ...templates[1]!, id: "api-v2", name: "REST API v2" }];
  assert.equal(findTemplate(withV2, "api").id, "api");
  assert.equal(findTemplate(withV2, "api-").id, "api-v2");
});

Deno.test("an ambiguous template prefix is 409 with candidates", async () => {
  const templates = await loadTemplates([]);
  assert.throws(
    () => findTemplate(templates, "d"),
    (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, "GDIL_AMBIGUOUS_TEMPLATE");
      assert.equal(error.status, 409);
      assert.deepEqual(error.details, {
        candidates: [
          { id: "data-analysis", name: "Data Analysis" },
          { id: "documentation", name: "Documentation" },
        ],
      });
      assert.equal(
        error.message,
        "Ambiguous template 'd': matches data-analysis (Data Analysis), documentation (Documentation)",
      );
      return true;
    },
  );
});

Deno.test("an unknown template is 404 NOT_FOUND listing the ids", async () => {
  const templates = await loadTemplates([]);
  for (const ref of ["blog", ""]) {
    assert.throws(
      () => findTemplate(templates, ref),
      (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, "NOT_FOUND");
        assert.equal(error.status, 404);
        assert.deepEqual(error.details, { ids: BUILT_IN_IDS });
        assert.ok(error.message.includes("web-app, api, data-analysis"));
        return true;
      },
    );
  }
});
