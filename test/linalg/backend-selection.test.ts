// Choosing the numeric back end: MADKIT_LINALG forces one, a bad value is refused with the accepted ones, and
// the first kernel call announces the choice in exactly one line on stderr (later calls say nothing).

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const blas = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/linalg/blas.js");
const active = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../src/linalg/active-backend.js");

/** Two products in a fresh process under `env`; returns its stderr, stdout (the back end's name) and status. */
function run(value: string | undefined): { stderr: string; stdout: string; status: number | null } {
  const script =
    `const { gemm } = await import(${JSON.stringify(blas)}); const { linalgBackend } = await import(${JSON.stringify(active)});` +
    `const a = { rows: 2, cols: 2, data: Float64Array.of(1, 2, 3, 4) };` +
    `const c = gemm(a, a); gemm(a, a); process.stdout.write(linalgBackend().name + " " + Array.from(c.data).join(","));`;
  const env = { ...process.env };
  if (value === undefined) delete env.MADKIT_LINALG;
  else env.MADKIT_LINALG = value;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { env, encoding: "utf8" });
  return { stderr: r.stderr, stdout: r.stdout, status: r.status };
}

test("MADKIT_LINALG=portable runs the portable kernels and says so once", () => {
  const r = run("portable");
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "portable 7,10,15,22");
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^madkit: linear algebra on portable \(MADKIT_LINALG=portable\)/);
});

test("an unknown MADKIT_LINALG value is refused, naming the accepted values", () => {
  const r = run("mkl");
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /MADKIT_LINALG=mkl is not a back end: expected openblas, portable or auto/);
});

test("unset, the choice is OpenBLAS where it loads and the portable kernels (with the install hint) where it does not", () => {
  const r = run(undefined);
  assert.equal(r.status, 0, r.stderr);
  const [name, product] = r.stdout.split(" ");
  assert.equal(product, "7,10,15,22");
  const line = r.stderr.trim();
  if (name === "openblas") assert.match(line, /^madkit: linear algebra on openblas: OpenBLAS /);
  else {
    assert.equal(name, "portable");
    assert.match(line, /^madkit: linear algebra on the portable TypeScript back end \(OpenBLAS\/LAPACK did not load\); OpenBLAS is many times faster per kernel.*npm run bench:linalg.*: apt-get install libopenblas0-pthread liblapack3/);
  }
  // A forced OpenBLAS gives the same product, or fails naming the packages where the library is missing.
  const forced = run("openblas");
  if (name === "openblas") assert.equal(forced.stdout, "openblas 7,10,15,22");
  else assert.match(forced.stderr, /the OpenBLAS shared library did not load .* apt-get install libopenblas0-pthread liblapack3/);
});
