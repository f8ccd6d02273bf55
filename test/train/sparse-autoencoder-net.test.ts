// The sparse autoencoder on data built from sparse non-negative combinations of known dictionary atoms:
// it must recover the atoms as decoder directions, name the feature of a rarely used atom when a row uses
// it, and score rows using an atom it never saw above typical ones.

import { test } from "node:test";
import assert from "node:assert/strict";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { SparseAutoencoderNet } from "../../src/train/sparse-autoencoder-net.js";

const d = 32;
const nAtoms = 40;
const perRow = 3;
const rng = new SeededRng(21);

function unitRows(n: number): Float32Array {
  const a = rng.fillNormal(new Float32Array(n * d)) as Float32Array;
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let j = 0; j < d; j++) ss += a[i * d + j]! ** 2;
    for (let j = 0; j < d; j++) a[i * d + j]! /= Math.sqrt(ss);
  }
  return a;
}
const atoms = unitRows(nAtoms + 2);
const rare = nAtoms; // appears in about 3% of trusted rows
const novel = nAtoms + 1; // never appears in training

/** Each row: `perRow` distinct atoms with coefficients in [1, 2], plus small noise; `extra` is forced in
 *  when given, else the rare atom joins 3% of rows. */
function sparseRows(n: number, extra = -1): Matrix<Float32Array> {
  const out = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    const picked = new Set<number>();
    if (extra >= 0) picked.add(extra);
    else if (rng.uniform() < 0.03) picked.add(rare);
    while (picked.size < perRow) picked.add(rng.int(nAtoms));
    for (const a of picked) {
      const c = 1 + rng.uniform();
      for (let j = 0; j < d; j++) out[r * d + j]! += c * atoms[a * d + j]!;
    }
    for (let j = 0; j < d; j++) out[r * d + j]! += 0.01 * rng.normal();
  }
  return matrix(n, d, out);
}

const trusted = sparseRows(6000);
const { net } = SparseAutoencoderNet.train(trusted, {
  features: 64,
  train: { epochs: 30, batchSize: 128, adam: { learningRate: 3e-3 }, seed: 4, validationFraction: 0 },
});

function cos(a: Float32Array, ai: number, b: Float32Array): number {
  let dot = 0, na = 0, nb = 0;
  for (let j = 0; j < d; j++) {
    dot += a[ai * d + j]! * b[j]!;
    na += a[ai * d + j]! ** 2;
    nb += b[j]! ** 2;
  }
  return dot / Math.sqrt(na * nb);
}

test("SAE decoder rows have unit norm after training", () => {
  for (let i = 0; i < 64; i++) {
    const dir = net.featureDirection(i);
    let ss = 0;
    for (const v of dir) ss += v * v;
    assert.ok(Math.abs(Math.sqrt(ss) - 1) < 1e-5, `feature ${i} norm ${Math.sqrt(ss)}`);
  }
});

test("SAE decoder directions recover the planted dictionary atoms (max cosine ≥ 0.9 for at least 90% of them)", () => {
  let recovered = 0;
  for (let a = 0; a < nAtoms; a++) {
    let m = -1;
    for (let i = 0; i < 64; i++) m = Math.max(m, cos(atoms, a, net.featureDirection(i)));
    if (m >= 0.9) recovered++;
  }
  assert.ok(recovered >= 0.9 * nAtoms, `${recovered} of ${nAtoms} atoms recovered`);
});

test("rows using an atom seen in 3% of trusted rows name, among their two rarest active features, a rare one pointing along that atom", () => {
  const rows = sparseRows(50, rare);
  const bd = net.breakdown(rows);
  let hits = 0;
  for (const b of bd) {
    // Common atoms fire on ~7.5% of rows (3 of 40); the rare one on ~3%.
    const named = b.active.slice(0, 2).some((a) => a.trustedFiringRate < 0.05 && cos(atoms, rare, net.featureDirection(a.feature)) >= 0.9);
    if (named) hits++;
  }
  assert.ok(hits >= 45, `${hits} of 50 rows`);
});

test("rows using an atom never seen in training score above typical rows (AUROC ≥ 0.95) with a larger reconstruction term", () => {
  const typical = net.breakdown(sparseRows(200));
  const odd = net.breakdown(sparseRows(200, novel));
  let wins = 0;
  for (const a of odd) for (const b of typical) wins += a.score > b.score ? 1 : 0;
  const auroc = wins / (odd.length * typical.length);
  const meanErr = (bs: typeof odd) => bs.reduce((s, b) => s + b.errorTerm, 0) / bs.length;
  assert.ok(auroc >= 0.95, `AUROC ${auroc}`);
  // The dictionary can't represent the new atom: the reconstruction term (the "unknown" part) grows.
  assert.ok(meanErr(odd) > 1.5 * meanErr(typical), `error term ${meanErr(odd)} vs ${meanErr(typical)}`);
});
