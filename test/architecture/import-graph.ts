// The checker behind the layering test: parses the layer table of docs/architecture.md, reads every import of
// a tree of .ts files (static, re-export, dynamic, `import type` and `import("…")` types) with the TypeScript
// parser, and reports each edge the table does not allow and each import cycle between folders or files.

import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/** One row of the layer table. `unit` is a folder name (`eval`) or a file at the root of src/ (`errors.ts`). */
export interface LayerRow {
  readonly floor: number;
  readonly unit: string;
  /** Units this one may import; "below" = any unit on a lower floor. */
  readonly mayImport: readonly string[] | "below";
}

export const TABLE_HEADING = "## Layers";

/**
 * The table under `## Layers`: `| floor | folder | role | may import |`, the folder written `src/x/` or
 * `src/x.ts`, the allowed units as code spans (`linalg`, `errors.ts`), "nothing" or "anything below".
 * Throws, naming the line, on a row it cannot read.
 */
export function parseLayerTable(markdown: string): LayerRow[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.trim() === TABLE_HEADING);
  if (start < 0) throw new Error(`layer table: no '${TABLE_HEADING}' heading`);
  const rows: LayerRow[] = [];
  let inTable = false;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line.startsWith("## ")) break;
    if (!line.startsWith("|")) {
      if (inTable) break;
      continue;
    }
    const cells = line.slice(1, line.endsWith("|") ? -1 : undefined).split("|").map((c) => c.trim());
    if (!inTable) {
      const head = cells.map((c) => c.toLowerCase());
      if (head[0] !== "floor" || head[1] !== "folder" || head.at(-1) !== "may import") {
        throw new Error(`layer table, line ${i + 1}: expected the header '| floor | folder | role | may import |', got '${line}'`);
      }
      inTable = true;
      i++; // the |---| separator
      continue;
    }
    const floor = Number(cells[0]);
    const unitMatch = /^`src\/([^`/]+)(\/)?`$/.exec(cells[1] ?? "");
    if (!Number.isInteger(floor) || !unitMatch || (!unitMatch[2] && !unitMatch[1]!.endsWith(".ts"))) {
      throw new Error(`layer table, line ${i + 1}: expected '| <floor> | \`src/<folder>/\` or \`src/<file>.ts\` | … |', got '${line}'`);
    }
    const allowed = cells.at(-1)!;
    let mayImport: LayerRow["mayImport"];
    if (allowed === "anything below") mayImport = "below";
    else if (allowed === "nothing") mayImport = [];
    else {
      mayImport = [...allowed.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      if (mayImport.length === 0) throw new Error(`layer table, line ${i + 1}: 'may import' must list \`units\`, say 'nothing' or 'anything below'; got '${allowed}'`);
    }
    rows.push({ floor, unit: unitMatch[1]!, mayImport });
  }
  if (rows.length === 0) throw new Error(`layer table: no rows under '${TABLE_HEADING}'`);
  return rows;
}

/** Problems with the table itself: duplicate units, unknown names, an allowed import that is not strictly lower. */
export function checkTable(rows: readonly LayerRow[]): string[] {
  const problems: string[] = [];
  const byUnit = new Map<string, LayerRow>();
  for (const r of rows) {
    if (byUnit.has(r.unit)) problems.push(`layer table: ${r.unit} has two rows`);
    byUnit.set(r.unit, r);
  }
  for (const r of rows) {
    if (r.mayImport === "below") continue;
    for (const u of r.mayImport) {
      const target = byUnit.get(u);
      if (!target) problems.push(`layer table: ${r.unit} may import '${u}', which has no row`);
      else if (target.floor >= r.floor) problems.push(`layer table: ${r.unit} (floor ${r.floor}) may import ${u} (floor ${target.floor}): an allowed import must point to a lower floor`);
    }
  }
  return problems;
}

/** One import: the importing file and the imported one, both relative to the root (src/), `/`-separated. */
export interface ImportEdge {
  readonly from: string;
  readonly specifier: string;
  /** The resolved target (`.js` → `.ts`), relative to the root; starts with `../` when it leaves the root. */
  readonly to: string;
  readonly line: number;
}

/** Every relative import of one source text. Package imports (`zod`, `node:fs`) are not edges of ours. */
export function importsOf(file: string, text: string): ImportEdge[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const out: ImportEdge[] = [];
  const add = (node: ts.Node, spec: ts.Expression | undefined): void => {
    if (!spec || !ts.isStringLiteralLike(spec) || !spec.text.startsWith(".")) return;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec.text)).replace(/\.js$/, ".ts");
    out.push({ from: file, specifier: spec.text, to: target, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) add(node, node.moduleReference.expression);
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, node.arguments[0]);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal as ts.Expression);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

/** Every .ts file under `root`, relative to it, `/`-separated, sorted. */
export function tsFilesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".ts") && !name.endsWith(".d.ts")) out.push(path.relative(root, p).split(path.sep).join("/"));
    }
  };
  walk(root);
  return out;
}

export function readImports(root: string, files: readonly string[]): ImportEdge[] {
  return files.flatMap((f) => importsOf(f, readFileSync(path.join(root, f), "utf8")));
}

/** `eval/bootstrap.ts` → `eval`; `errors.ts` → `errors.ts`. */
export function unitOf(file: string): string {
  const slash = file.indexOf("/");
  return slash < 0 ? file : file.slice(0, slash);
}

/** The units present on disk: the folders and the root files of the tree. */
export function unitsOf(files: readonly string[]): string[] {
  return [...new Set(files.map(unitOf))].sort();
}

/** Problems with the imports: an edge out of the tree, or between units the table does not connect. */
export function checkEdges(rows: readonly LayerRow[], edges: readonly ImportEdge[]): string[] {
  const byUnit = new Map(rows.map((r) => [r.unit, r]));
  const problems: string[] = [];
  for (const e of edges) {
    const where = `src/${e.from}:${e.line} imports '${e.specifier}'`;
    if (e.to.startsWith("../")) {
      problems.push(`${where}, which is outside src/: the library may not import tests, perf benchmarks or scripts`);
      continue;
    }
    const a = unitOf(e.from);
    const b = unitOf(e.to);
    if (a === b) continue;
    const ra = byUnit.get(a);
    const rb = byUnit.get(b);
    if (!ra || !rb) {
      problems.push(`${where}: ${!ra ? a : b} has no row in the layer table`);
      continue;
    }
    const ok = ra.mayImport === "below" ? rb.floor < ra.floor : ra.mayImport.includes(b);
    if (!ok) {
      const rule = ra.mayImport === "below" ? `anything below floor ${ra.floor}` : ra.mayImport.length ? ra.mayImport.join(", ") : "nothing";
      problems.push(`${where} (${b}, floor ${rb.floor}): ${a} (floor ${ra.floor}) may import only ${rule}`);
    }
  }
  return problems;
}

/** Each cycle of a directed graph (one per strongly connected component), as a closed path a → … → a. */
export function findCycles(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  // Tarjan's strongly connected components, recursive: the graphs here have a few hundred nodes.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || graph.get(v)?.has(v)) components.push(comp);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) connect(v);
  // One concrete cycle per component: a shortest path back to its smallest node (breadth-first inside it).
  return components.map((comp) => {
    const inComp = new Set(comp);
    const start = [...comp].sort()[0]!;
    const prev = new Map<string, string>();
    const queue = [start];
    for (let q = 0; q < queue.length; q++) {
      const v = queue[q]!;
      for (const w of [...(graph.get(v) ?? [])].sort()) {
        if (!inComp.has(w)) continue;
        if (w === start) {
          const pathBack = [v];
          while (pathBack[0] !== start) pathBack.unshift(prev.get(pathBack[0]!)!);
          return [...pathBack, start];
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start, start];
  });
}

export function fileGraph(edges: readonly ImportEdge[]): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!g.has(e.from)) g.set(e.from, new Set());
    g.get(e.from)!.add(e.to);
  }
  return g;
}

export function folderGraph(edges: readonly ImportEdge[]): Map<string, Set<string>> {
  const g = new Map<string, Set<string>>();
  for (const e of edges) {
    const a = unitOf(e.from);
    const b = unitOf(e.to);
    if (a === b) continue;
    if (!g.has(a)) g.set(a, new Set());
    g.get(a)!.add(b);
  }
  return g;
}

/** Cycles between folders and between files, each with the imports that close it. */
export function checkCycles(edges: readonly ImportEdge[]): string[] {
  const problems: string[] = [];
  const firstEdge = (a: string, b: string, byUnit: boolean): ImportEdge =>
    edges.find((e) => (byUnit ? unitOf(e.from) === a && unitOf(e.to) === b : e.from === a && e.to === b))!;
  for (const cycle of findCycles(folderGraph(edges))) {
    const hops = cycle.slice(1).map((b, i) => {
      const e = firstEdge(cycle[i]!, b, true);
      return `${cycle[i]} → ${b} (src/${e.from}:${e.line} imports '${e.specifier}')`;
    });
    problems.push(`folder cycle ${cycle.join(" → ")}: ${hops.join("; ")}`);
  }
  for (const cycle of findCycles(fileGraph(edges))) {
    problems.push(`file cycle ${cycle.map((f) => `src/${f}`).join(" → ")}`);
  }
  return problems;
}
