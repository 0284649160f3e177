import assert from "node:assert/strict";
import { ToolError } from "@synth/kernel";
import { binaryTable, BUILTIN_BINARIES } from "./binaries.ts";
import { type CommandPlan, MAX_WORDS, planCommand, splitWords } from "./parse.ts";

const plan = (command: string): CommandPlan => planCommand(command, BUILTIN_BINARIES);

/** Asserts that `fn` throws a ToolError with `code` whose message contains every `parts`. */
function assertRefused(fn: () => unknown, code: string, ...parts: string[]): ToolError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ToolError, `expected a ToolError, got ${caught}`);
  assert.equal(caught.code, code, caught.message);
  for (const part of parts) {
    assert.ok(caught.message.includes(part), `"${caught.message}" should name ${part}`);
  }
  return caught;
}

Deno.test("splitWords splits on blanks and keeps quoted text literally", () => {
  assert.deepEqual(splitWords("  ls   -la\tsub\n"), ["ls", "-la", "sub"]);
  assert.deepEqual(splitWords(`echo 'a b' "c d" e\\ f`), ["echo", "a b", "c d", "e f"]);
  assert.deepEqual(splitWords(`echo 'it'"'"'s'`), ["echo", "it's"]);
  assert.deepEqual(splitWords(`echo a'b'"c"d`), ["echo", "abcd"]);
  assert.deepEqual(splitWords(`echo '' ""`), ["echo", "", ""]);
  assert.deepEqual(splitWords(`echo '\\n' '"'`), ["echo", "\\n", '"']);
});

Deno.test('splitWords: backslashes escape inside double quotes only before " \\ $ and backtick', () => {
  assert.deepEqual(splitWords(String.raw`echo "a\"b" "c\\d" "e\$f" "g\`h" "i\nj"`), [
    "echo",
    'a"b',
    "c\\d",
    "e$f",
    "g`h",
    "i\\nj",
  ]);
  assert.deepEqual(splitWords('echo "a\\\nb" c\\\nd'), ["echo", "ab", "cd"]);
  assert.deepEqual(splitWords(String.raw`echo \a\'\"\\`), ["echo", `a'"\\`]);
});

Deno.test("splitWords treats ; | & $ globs redirections and backticks as plain characters", () => {
  assert.deepEqual(
    splitWords("echo a;b|c&d $HOME `x` *.txt > out < in 2>&1 (y) #z ~"),
    ["echo", "a;b|c&d", "$HOME", "`x`", "*.txt", ">", "out", "<", "in", "2>&1", "(y)", "#z", "~"],
  );
});

Deno.test("splitWords refuses open quotes, a trailing backslash, NUL and empty commands", () => {
  assertRefused(() => splitWords("echo 'abc"), "TOOLS_SHELL_SYNTAX", "single quote");
  assertRefused(() => splitWords('echo "abc'), "TOOLS_SHELL_SYNTAX", "double quote");
  assertRefused(() => splitWords('echo "a\\"'), "TOOLS_SHELL_SYNTAX", "double quote");
  assertRefused(() => splitWords("echo abc\\"), "TOOLS_SHELL_SYNTAX", "backslash");
  assertRefused(() => splitWords("echo a\0b"), "TOOLS_SHELL_SYNTAX", "NUL");
  assertRefused(() => splitWords("   "), "TOOLS_SHELL_SYNTAX", "empty");
});

Deno.test("splitWords allows 32 words and refuses 33", () => {
  const words = ["echo", ...Array.from({ length: MAX_WORDS - 1 }, (_, i) => `w${i}`)];
  assert.equal(splitWords(words.join(" ")).length, MAX_WORDS);
  assertRefused(() => splitWords([...words, "more"].join(" ")), "TOOLS_SHELL_SYNTAX", "33");
});

Deno.test("planCommand refuses binaries outside the table, listing the allowed ones", () => {
  const error = assertRefused(() => plan("cat f"), "TOOLS_SHELL_UNKNOWN_BINARY", '"cat"', "ls");
  for (const name of Object.keys(BUILTIN_BINARIES)) assert.ok(error.message.includes(name));
  assertRefused(() => plan("/bin/ls"), "TOOLS_SHELL_UNKNOWN_BINARY", "name only");
  assertRefused(() => plan("sh -c ls"), "TOOLS_SHELL_UNKNOWN_BINARY", '"sh"');
  assertRefused(() => plan("constructor"), "TOOLS_SHELL_UNKNOWN_BINARY");
  assertRefused(() => plan("toString"), "TOOLS_SHELL_UNKNOWN_BINARY");
});

Deno.test("planCommand splits combined short flags and checks each", () => {
  assert.deepEqual(plan("sort -rn f"), {
    binary: "sort",
    args: ["-rn", "f"],
    options: ["-r", "-n"],
    paths: [{ index: 1, word: "f" }],
  });
  assert.deepEqual(plan("ls -la").options, ["-l", "-a"]);
  assertRefused(() => plan("sort -rno x f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-o"', "sort");
  assertRefused(() => plan("ls -lZ"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-Z"', "ls");
  assertRefused(() => plan("sort -ro/tmp/x f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-o"');
});

Deno.test("planCommand takes values attached, separate, or as the rest of a cluster", () => {
  assert.deepEqual(plan("head -n5 f").args, ["-n5", "f"]);
  assert.deepEqual(plan("head -n 5 f").paths, [{ index: 2, word: "f" }]);
  assert.deepEqual(plan("head -qn 5 f").options, ["-q", "-n"]);
  assert.deepEqual(plan("sort -rk2,3n -t , f").options, ["-r", "-k", "-t"]);
  assert.deepEqual(plan("sort -t - f").paths, [{ index: 2, word: "f" }]);
  assert.deepEqual(plan("tail -n +2 f").options, ["-n"]);
  assert.deepEqual(plan("tail -c+10 f").options, ["-c"]);
  assert.deepEqual(plan("uniq -f 1 -s2 -w 3 f").paths, [{ index: 5, word: "f" }]);
  assert.deepEqual(plan("diff -U 3 a b").paths.map((p) => p.word), ["a", "b"]);
});

Deno.test("planCommand type-checks option values", () => {
  assertRefused(() => plan("head -n x f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-n"', "head");
  assertRefused(() => plan("head -n -5 f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-n"', "whole");
  assertRefused(() => plan("head -n +5 f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-n"');
  assertRefused(() => plan("head -n 5K f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"5K"');
  assertRefused(() => plan("head f -n"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-n"', "missing");
  assertRefused(() => plan("tail -n -2 f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-n"', "tail");
  assertRefused(() => plan("sort -t ab f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-t"', "one");
  assertRefused(() => plan("sort -t '' f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-t"');
  assertRefused(() => plan("sort -k x f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-k"', "sort");
  assertRefused(() => plan("sort -k 1R f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-k"');
  assertRefused(() => plan("sort -k -- f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-k"');
  assertRefused(() => plan("uniq -f a f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-f"', "uniq");
  assertRefused(() => plan("diff -U x a b"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-U"', "diff");
});

Deno.test("planCommand refuses the §6 and §11 escapes by name before anything runs", () => {
  const cases: Array<[string, string, string]> = [
    ["sort -o /tmp/x f", "-o", "sort"],
    ["sort --out=/tmp/x f", "--out", "sort"],
    ["sort --output=x f", "--output", "sort"],
    ["sort -T /tmp f", "-T", "sort"],
    ["sort --compress-program=sh f", "--compress-program", "sort"],
    ["sort --files0-from=f", "--files0-from", "sort"],
    ["sort --random-source=f f", "--random-source", "sort"],
    ["sort -R f", "-R", "sort"],
    ["diff --from-file=/etc/passwd f", "--from-file", "diff"],
    ["diff --to-file=f f", "--to-file", "diff"],
    ["diff -x f a b", "-x", "diff"],
    ["diff -X f a b", "-X", "diff"],
    ["date -f /etc/shadow", "-f", "date"],
    ["date -s 2020-01-01", "-s", "date"],
    ["date -r f", "-r", "date"],
    ["date -d yesterday", "-d", "date"],
    ["wc --files0-from=/etc/passwd", "--files0-from", "wc"],
    ["tail -f f", "-f", "tail"],
    ["tail -F f", "-F", "tail"],
    ["tail --follow f", "--follow", "tail"],
    ["tail --pid=1 f", "--pid", "tail"],
    ["ls --color=always", "--color", "ls"],
    ["pwd -P", "-P", "pwd"],
    ["whoami --help", "--help", "whoami"],
    ["which -a ls", "-a", "which"],
    ["echo --version", "--version", "echo"],
    ["head -5 f", "-5", "head"],
  ];
  for (const [command, option, binary] of cases) {
    assertRefused(
      () => plan(command),
      "TOOLS_SHELL_OPTION_NOT_ALLOWED",
      `"${option}"`,
      ` ${binary};`,
    );
  }
});

Deno.test("planCommand treats every -word before -- as an option wherever it stands", () => {
  assertRefused(() => plan("sort f -o x"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-o"');
  assertRefused(() => plan("ls a b -d"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-d"');
  assert.deepEqual(plan("ls -- -o").paths, [{ index: 1, word: "-o" }]);
  assert.deepEqual(plan("sort -r -- -o f").paths, [
    { index: 2, word: "-o" },
    { index: 3, word: "f" },
  ]);
  assert.deepEqual(plan("echo -- -n").args, ["--", "-n"]);
});

Deno.test("planCommand refuses GNU prefix abbreviations of long options", () => {
  assertRefused(() => plan("sort --rev f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"--rev"');
  assertRefused(() => plan("sort --reverse f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"--reverse"');
  assertRefused(() => plan("tail --fo f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"--fo"');
});

Deno.test("planCommand refuses a lone - (standard input) as option and as path operand", () => {
  assertRefused(() => plan("ls -"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-"', "standard input");
  assertRefused(() => plan("head -n 1 -"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-"');
  assertRefused(() => plan("head -- -"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "standard input");
});

Deno.test("planCommand counts operands per the table", () => {
  assert.deepEqual(plan("ls").paths, []);
  assert.equal(plan("ls a b c").paths.length, 3);
  assertRefused(
    () => plan("uniq f /tmp/x"),
    "TOOLS_SHELL_OPERAND_NOT_ALLOWED",
    "exactly 1",
    "/tmp/x",
  );
  assertRefused(() => plan("uniq -c"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "exactly 1");
  assertRefused(() => plan("diff a"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "exactly 2");
  assertRefused(() => plan("diff a b c"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "exactly 2");
  assertRefused(() => plan("head"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "head");
  assertRefused(() => plan("wc -l"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "wc");
  assertRefused(() => plan("pwd x"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "no operands");
  assertRefused(() => plan("whoami x"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "no operands");
  assertRefused(() => plan("which"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "which");
});

Deno.test("planCommand checks date formats, which names and echo text", () => {
  assert.deepEqual(plan("date -u +%Y").options, ["-u"]);
  assert.deepEqual(plan("date -uIseconds").options, ["-u", "-I"]);
  assert.deepEqual(plan("date -Idate").options, ["-I"]);
  assert.deepEqual(plan("date -I").options, ["-I"]);
  assertRefused(() => plan("date -Ihours"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-I"');
  assertRefused(() => plan("date -Iu"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-I"');
  assertRefused(() => plan("date 010100002020"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "+");
  assertRefused(() => plan("date +%Y +%m"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "date");
  assert.deepEqual(plan("which ls sort").paths, []);
  assertRefused(() => plan("which sh"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", '"sh"');
  assert.deepEqual(plan("echo a;b '/etc/passwd' ../x").args, ["a;b", "/etc/passwd", "../x"]);
  assert.deepEqual(plan("echo -neE hi").paths, []);
});

Deno.test("planCommand returns only path operands for the workspace check", () => {
  assert.deepEqual(plan("head -n 1 a ../b /c").paths, [
    { index: 2, word: "a" },
    { index: 3, word: "../b" },
    { index: 4, word: "/c" },
  ]);
});

Deno.test("operator binaries add options, value options and operands", () => {
  const table = binaryTable({
    grep: {
      options: ["-i", "-c", "--count"],
      valueOptions: { "-m": "integer", "--max-count": "integer", "-e": "text" },
      operands: { kind: "paths", min: 1, max: 4 },
    },
    tr: { options: [], valueOptions: {}, operands: { kind: "text", min: 0, max: 2 } },
  });
  assert.ok(table.ls, "built-in binaries stay");
  const grep = (command: string) => planCommand(command, table);
  assert.deepEqual(grep("grep -ic -m 3 --max-count=4 -e x f").options, [
    "-i",
    "-c",
    "-m",
    "--max-count",
    "-e",
  ]);
  assert.deepEqual(grep("grep --count -e -r f").paths, [{ index: 3, word: "f" }]);
  assertRefused(() => grep("grep -r x f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-r"', "grep");
  assertRefused(() => grep("grep --count=2 f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", "no value");
  assertRefused(() => grep("grep --max f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"--max"');
  assertRefused(() => grep("grep -m x f"), "TOOLS_SHELL_OPTION_NOT_ALLOWED", '"-m"');
  assertRefused(() => grep("grep a b c d e"), "TOOLS_SHELL_OPERAND_NOT_ALLOWED", "1 to 4");
  assert.deepEqual(planCommand("tr a b", table).paths, []);
  assert.deepEqual(planCommand("which grep", table).args, ["grep"]);
});
