/**
 * SQLite-only SQL stays in the storage layer's SQLite folder, the full-text
 * implementation and the SQLite migrations, so a PostgreSQL adapter can be
 * added later (spec/memory.md §1.2).
 */
import assert from "node:assert/strict";
import { REPO_DIR } from "@synth/testing";

const ALLOWED = [
  "migrations/sqlite/",
  "src/store/dialect.ts",
  "src/store/sqlite.ts",
  "src/store/migrations.ts",
  "src/store/text_search.ts",
  "src/store/store.ts",
  "src/store/backup.ts",
  "src/store/backup_worker.ts",
  "src/store/checkpoint_worker.ts",
];

const PATTERNS: Array<[RegExp, string]> = [
  [/INSERT\s+OR\s+(REPLACE|IGNORE)/i, "INSERT OR REPLACE/IGNORE"],
  [/COLLATE\s+NOCASE/i, "COLLATE NOCASE"],
  [/\bAUTOINCREMENT\b/i, "AUTOINCREMENT"],
  [/\bstrftime\s*\(/i, "strftime()"],
  [/\bjson_(extract|each|set|object)\s*\(/i, "SQL JSON functions"],
  [/\browid\b/i, "rowid"],
  [/\bPRAGMA\b/, "PRAGMA"],
  [/\b(NOT\s+)?LIKE\s+['"`?$]/, "LIKE for search"],
];

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(`${REPO_DIR}/${dir}`)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.ts$/.test(entry.name) && !entry.name.endsWith("_test.ts")) yield path;
  }
}

Deno.test("no SQLite-only SQL outside the storage layer's SQLite files", async () => {
  const violations: string[] = [];
  for (const root of ["src", "plugins"]) {
    for await (const path of sourceFiles(root)) {
      if (ALLOWED.some((allowed) => path.startsWith(allowed))) continue;
      const text = await Deno.readTextFile(`${REPO_DIR}/${path}`);
      for (const [pattern, name] of PATTERNS) {
        if (pattern.test(text)) violations.push(`${path}: ${name}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});
