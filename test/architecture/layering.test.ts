// The direction of imports, checked: every import of every file under src/ against the layer table of
// docs/architecture.md (parsed from the document itself, so the two cannot disagree), no cycle between folders
// or files, and the perf benchmarks and scripts import the library, never the tests.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { projectRoot } from "../../src/config.js";
import {
  checkCycles,
  checkEdges,
  checkTable,
  importsOf,
  parseLayerTable,
  readImports,
  tsFilesUnder,
  unitsOf,
  type ImportEdge,
  type LayerRow,
} from "./import-graph.js";

const SRC = path.join(projectRoot, "src");
const DOC = path.join(projectRoot, "docs", "architecture.md");
const report = (problems: readonly string[]): string => `\n  ${problems.join("\n  ")}\n(the rules: docs/architecture.md, '## Layers')`;

const rows = parseLayerTable(readFileSync(DOC, "utf8"));
const files = tsFilesUnder(SRC);
const edges = readImports(SRC, files);

test("the layer table in docs/architecture.md has one row for every folder and root file of src/, and no other", () => {
  const inTable = rows.map((r) => r.unit).sort();
  const onDisk = unitsOf(files);
  assert.deepEqual(
    { missingFromTable: onDisk.filter((u) => !inTable.includes(u)), notInSrc: inTable.filter((u) => !onDisk.includes(u)) },
    { missingFromTable: [], notInSrc: [] },
  );
});

test("the layer table is one-way: every import it allows points to a lower floor", () => {
  const problems = checkTable(rows);
  assert.equal(problems.length, 0, report(problems));
});

test("every import under src/ is one the layer table allows", () => {
  assert.ok(edges.length > 300, `only ${edges.length} imports read: the reader is broken`);
  const problems = checkEdges(rows, edges);
  assert.equal(problems.length, 0, report(problems));
});

test("no import cycle between the folders of src/ or between its files", () => {
  const problems = checkCycles(edges);
  assert.equal(problems.length, 0, report(problems));
});

test("the perf benchmarks and scripts import the library and each other, never the tests", () => {
  const problems: string[] = [];
  for (const dir of ["perf", "scripts"]) {
    const root = path.join(projectRoot, dir);
    if (!existsSync(root)) continue;
    for (const e of readImports(root, tsFilesUnder(root))) {
      if (path.posix.normalize(path.posix.join(dir, e.to)).startsWith("test/")) problems.push(`${dir}/${e.from}:${e.line} imports '${e.specifier}' (a test helper)`);
    }
  }
  assert.equal(problems.length, 0, report(problems));
});

// The checker itself, on made-up graphs: it must be able to fail.

const TABLE = `# x

## Layers

| floor | folder | role | may import |
|---|---|---|---|
| 3 | \`src/index.ts\` | public API | anything below |
| 2 | \`src/top/\` | top | \`mid\`, \`errors.ts\` |
| 1 | \`src/mid/\` | middle | \`errors.ts\` |
| 0 | \`src/errors.ts\` | errors | nothing |

## Next section
`;

const edge = (from: string, specifier: string): ImportEdge => importsOf(from, `import { x } from "${specifier}";`)[0]!;

test("the table parser reads floors, units and the allowed imports, 'nothing' and 'anything below'", () => {
  assert.deepEqual(parseLayerTable(TABLE), [
    { floor: 3, unit: "index.ts", mayImport: "below" },
    { floor: 2, unit: "top", mayImport: ["mid", "errors.ts"] },
    { floor: 1, unit: "mid", mayImport: ["errors.ts"] },
    { floor: 0, unit: "errors.ts", mayImport: [] },
  ]);
  assert.throws(() => parseLayerTable(TABLE.replace("| 1 | `src/mid/`", "| one | `src/mid/`")), /line 9: expected '\| <floor> \|/);
});

test("a table that lets a folder import its own floor or above is refused", () => {
  const sideways: LayerRow[] = [...parseLayerTable(TABLE), { floor: 1, unit: "side", mayImport: ["mid"] }];
  assert.deepEqual(checkTable(sideways), ["layer table: side (floor 1) may import mid (floor 1): an allowed import must point to a lower floor"]);
});

test("an upward import is reported with its file, line, import and the rule it breaks", () => {
  const table = parseLayerTable(TABLE);
  assert.deepEqual(checkEdges(table, [edge("top/a.ts", "../mid/b.js"), edge("mid/b.ts", "../errors.js"), edge("index.ts", "./top/a.js")]), []);
  assert.deepEqual(checkEdges(table, [edge("mid/b.ts", "../top/a.js")]), [
    "src/mid/b.ts:1 imports '../top/a.js' (top, floor 2): mid (floor 1) may import only errors.ts",
  ]);
  assert.deepEqual(checkEdges(table, [edge("errors.ts", "./mid/b.js")]), ["src/errors.ts:1 imports './mid/b.js' (mid, floor 1): errors.ts (floor 0) may import only nothing"]);
  assert.match(checkEdges(table, [edge("mid/b.ts", "../../test/helpers/cli.js")])[0]!, /outside src\/: the library may not import tests/);
  assert.match(checkEdges(table, [edge("mid/b.ts", "../new-folder/c.js")])[0]!, /new-folder has no row in the layer table/);
});

test("a cycle between folders and a cycle between files are reported with the path that closes them", () => {
  const problems = checkCycles([edge("top/a.ts", "../mid/b.js"), edge("mid/b.ts", "../top/c.js"), edge("mid/d.ts", "./e.js"), edge("mid/e.ts", "./d.js")]);
  assert.deepEqual(problems, [
    "folder cycle mid → top → mid: mid → top (src/mid/b.ts:1 imports '../top/c.js'); top → mid (src/top/a.ts:1 imports '../mid/b.js')",
    "file cycle src/mid/d.ts → src/mid/e.ts → src/mid/d.ts",
  ]);
  assert.deepEqual(checkCycles([edge("top/a.ts", "../mid/b.js"), edge("mid/b.ts", "./e.js")]), []);
});

test("the import reader sees static, re-export, dynamic and type imports, and skips packages and comments", () => {
  const text = [
    `import { a } from "./a.js";`,
    `import type { B } from "../b/b.js";`,
    `export { c } from "./c.js";`,
    `export * from "./d.js";`,
    `import "./side-effect.js";`,
    `// import { nope } from "./commented.js";`,
    `import { z } from "zod";`,
    `import path from "node:path";`,
    `const m = await import("./dynamic.js");`,
    `let t: typeof import("./typed.js");`,
  ].join("\n");
  assert.deepEqual(
    importsOf("x/f.ts", text).map((e) => `${e.line}:${e.to}`),
    ["1:x/a.ts", "2:b/b.ts", "3:x/c.ts", "4:x/d.ts", "5:x/side-effect.ts", "9:x/dynamic.ts", "10:x/typed.ts"],
  );
});
