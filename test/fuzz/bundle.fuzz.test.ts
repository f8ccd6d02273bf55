// Property-based tests of the bundle loader and the versioned JSON envelope under it: bundle.json and a
// hook's detector.json with fields replaced by nasty values, calibration and weight files with bytes mutated,
// or arbitrary JSON documents where an envelope should be. Loading gives a bundle that scores and explains
// finite activations without any other exception, or a MadkitError naming the bundle folder.

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import fc from "fast-check";
import { z } from "zod";
import { BUNDLE_FILE, CALIBRATION_FILE, fitBundle, loadBundle } from "../../src/bundle/bundle.js";
import { knn } from "../../src/detectors/knn.js";
import { mahalanobis } from "../../src/detectors/mahalanobis.js";
import { readVersionedJson } from "../../src/io/versioned-json.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { byteMutation, jsonEdit, mutateBytes, mutateJson, outcome, SEED } from "./outcome.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-fuzz-bundle-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

const rng = new SeededRng(5);
const gaussian = (rows: number, cols: number): Matrix => matrix(rows, cols, Float32Array.from({ length: rows * cols }, () => rng.normal()));
const HOOKS = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"];
const train = new Map<string, Matrix>(HOOKS.map((h, k) => [h, gaussian(60, 3 + k)]));
const probe = new Map<string, Matrix>(HOOKS.map((h, k) => [h, gaussian(5, 3 + k)]));
const dir = path.join(tmp, "bundle");
fitBundle({ matrices: train, detector: (hook) => (hook === HOOKS[0] ? mahalanobis() : knn({ k: 3 })), seed: 1, pooling: "last", alpha: 0.2 }).save(dir);

/** Load the bundle and use it: score and explain finite activations of the widths it was fitted on. */
function loadAndUse(d: string): void {
  const b = loadBundle(d);
  const s = b.score(probe);
  assert.equal(s.combined.length, 5);
  for (const p of s.pValue) assert.ok(p >= 0 && p <= 1, `p-value ${p}`);
  b.explain(probe);
  b.threshold();
}

const jsonFiles = [path.join(dir, BUNDLE_FILE), path.join(dir, "hooks/000/detector.json"), path.join(dir, "hooks/001/detector.json")];
const binaryFiles = [path.join(dir, CALIBRATION_FILE), path.join(dir, "hooks/000/weights.safetensors"), path.join(dir, "hooks/001/weights.safetensors")];

test("fuzz: bundle.json and detector.json fields replaced by nasty values load and score cleanly or fail naming the bundle", { timeout: 30_000 }, () => {
  const originals = jsonFiles.map((f) => readFileSync(f, "utf8"));
  try {
    fc.assert(
      fc.property(fc.nat({ max: jsonFiles.length - 1 }), fc.array(jsonEdit, { minLength: 1, maxLength: 3 }), (v, edits) => {
        writeFileSync(jsonFiles[v]!, mutateJson(JSON.parse(originals[v]!), edits));
        outcome(() => loadAndUse(dir), dir, `${jsonFiles[v]} edits ${JSON.stringify(edits)}`);
        writeFileSync(jsonFiles[v]!, originals[v]!);
      }),
      { seed: SEED, numRuns: 300, includeErrorInReport: true },
    );
  } finally {
    jsonFiles.forEach((f, i) => writeFileSync(f, originals[i]!));
  }
});

test("fuzz: calibration and weight files with bytes mutated load and score cleanly or fail naming the bundle", { timeout: 30_000 }, () => {
  const originals = binaryFiles.map((f) => readFileSync(f));
  try {
    fc.assert(
      fc.property(fc.nat({ max: binaryFiles.length - 1 }), fc.array(byteMutation, { minLength: 1, maxLength: 3 }), (v, mutations) => {
        writeFileSync(binaryFiles[v]!, mutateBytes(originals[v]!, mutations, 256));
        outcome(() => loadAndUse(dir), dir, `${binaryFiles[v]} mutated`);
        writeFileSync(binaryFiles[v]!, originals[v]!);
      }),
      { seed: SEED, numRuns: 200, includeErrorInReport: true },
    );
  } finally {
    binaryFiles.forEach((f, i) => writeFileSync(f, originals[i]!));
  }
});

test("fuzz: any JSON document, or bytes, where a versioned envelope should be is a MadkitError naming the file", { timeout: 30_000 }, () => {
  const file = path.join(tmp, "envelope.json");
  const spec = { format: "madkit-test", schemaVersion: 2, schema: z.object({ format: z.literal("madkit-test"), schemaVersion: z.literal(2), n: z.number().int() }), missing: "no test file", onDrift: "redo it" };
  const doc = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    fc.record({ format: fc.constantFrom<unknown>("madkit-test", "other", 1, null), schemaVersion: fc.constantFrom<unknown>(1, 2, 3, "2", null, 2.5), n: fc.constantFrom<unknown>(1, -1, 1.5, "1", null) }).map((v) => JSON.stringify(v)),
    fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString("latin1")),
  );
  fc.assert(
    fc.property(doc, (text) => {
      writeFileSync(file, text);
      outcome(() => readVersionedJson(file, spec), file, `text ${JSON.stringify(text)}`);
    }),
    { seed: SEED, numRuns: 300, includeErrorInReport: true },
  );
});
