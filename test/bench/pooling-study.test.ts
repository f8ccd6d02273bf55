import assert from "node:assert/strict";
import { test } from "node:test";
import { poolTokens } from "../../src/activations/pooling.js";
import { aggregateTokenScores, poolingStudy, poolTokenRows, tokenOffsets } from "../../src/bench/pooling-study.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import type { TextRecord } from "../../src/datasets/text-record.js";
import { computeMix, type Task, type TaskItem } from "../../src/tasks/task.js";
import { SeededRng } from "../../src/random/seeded-rng.js";

// Three inputs of 2, 1 and 3 tokens, 2 units.
const tokens = Int32Array.of(2, 1, 3);
const rows = matrix(6, 2, Float32Array.of(1, -4, 3, 2, 5, 5, -1, 0, 2, 7, 0, 1));
const off = tokenOffsets(tokens);

test("token offsets are the running sums of the token counts", () => {
  assert.deepEqual(Array.from(off), [0, 2, 3, 6]);
});

test("study mean and rootn pooling equal the store's poolTokens on each input's rows", () => {
  for (const p of ["mean", "rootn"] as const) {
    const pooled = poolTokenRows(rows, off, p);
    for (let i = 0; i < 3; i++) {
      const one = poolTokens(matrix(tokens[i]!, 2, rows.data.slice(off[i]! * 2, off[i + 1]! * 2)), p);
      for (let j = 0; j < 2; j++) assert.ok(Math.abs(pooled.data[i * 2 + j]! - one.data[j]!) < 1e-6, `${p} input ${i} unit ${j}`);
    }
  }
});

test("max pooling takes each unit's maximum and mean+max puts the mean beside it", () => {
  assert.deepEqual(Array.from(poolTokenRows(rows, off, "max").data), [3, 2, 5, 5, 2, 7]);
  const mm = poolTokenRows(rows, off, "mean+max");
  assert.equal(mm.cols, 4);
  assert.deepEqual(Array.from(mm.data.subarray(8, 12)), [1 / 3, 8 / 3, 2, 7].map(Math.fround));
});

test("token scores aggregate per input: max, mean of the top three, mean", () => {
  const s = Float64Array.of(1, 4, 9, 2, 8, 5, 7);
  const o = Int32Array.of(0, 2, 3, 7);
  assert.deepEqual(Array.from(aggregateTokenScores(s, o, "max")), [4, 9, 8]);
  assert.deepEqual(Array.from(aggregateTokenScores(s, o, "top3")), [2.5, 9, (8 + 7 + 5) / 3]);
  assert.deepEqual(Array.from(aggregateTokenScores(s, o, "mean")), [2.5, 9, 22 / 4]);
});

/**
 * Normal texts: 3–8 i.i.d. N(0, I) tokens. Anomalies: 40 tokens each shifted by 0.7 along unit 0 — their mean sits
 * closer to the centre than a short normal text's mean, while √n × mean moves 0.7√40 ≈ 4.4 along unit 0.
 */
function driftTask(): { task: Task; tokens: Int32Array; rows: Matrix } {
  const rng = new SeededRng(7);
  const d = 4;
  const rec = (id: string): TextRecord => ({ id, text: id, source: "synthetic" });
  const trusted = Array.from({ length: 600 }, (_, i) => rec(`t${i}`));
  const untrusted: TaskItem[] = [];
  for (let i = 0; i < 200; i++) {
    const anomalous = i % 2 === 1;
    untrusted.push({ id: `u${i}`, text: `u${i}`, label: anomalous ? 1 : 0, family: anomalous ? "drift" : "benign-heldout", group: anomalous ? "anomalous" : "normal", attackClass: anomalous ? "drift" : null, split: i % 4 < 2 ? "validation" : "test", source: "synthetic" });
  }
  const counts: number[] = [];
  const data: number[] = [];
  const all = [...trusted.map(() => false), ...untrusted.map((it) => it.group === "anomalous")];
  for (const anomalous of all) {
    const n = anomalous ? 40 : 3 + rng.int(6);
    counts.push(n);
    for (let t = 0; t < n; t++) for (let j = 0; j < d; j++) data.push(rng.normal() + (anomalous && j === 0 ? 0.7 : 0));
  }
  const task: Task = {
    name: "drift", description: "synthetic", models: [], seed: 1, sizes: { fit: 400, calibration: 100, validation: 100, normal: 0, perShiftSource: 0, perFamily: 0, perSyntheticFamily: 0 },
    trusted: { fit: trusted.slice(0, 400), calibration: trusted.slice(400, 500), validation: trusted.slice(500) },
    untrusted, mix: computeMix({ fit: trusted.slice(0, 400), calibration: trusted.slice(400, 500), validation: trusted.slice(500) }, untrusted),
  };
  return { task, tokens: Int32Array.from(counts), rows: matrix(counts.reduce((a, b) => a + b, 0), d, Float32Array.from(data)) };
}
test("on long inputs that drift slowly, Mahalanobis separates them with rootn pooling and misses them with mean pooling", () => {
  const { task, tokens, rows } = driftTask();
  const out = poolingStudy({
    task, tokens, rows: new Map([["h", rows]]), poolings: ["mean", "rootn"], detectors: [{ name: "mahalanobis", kind: "mahalanobis" }],
    split: "validation", alpha: 0.05, seed: 1,
  });
  assert.deepEqual(out.map((r) => `${r.hook}/${r.pooling}/${r.detector}`), ["length:tokens/sequence/length:tokens", "h/mean/mahalanobis", "h/rootn/mahalanobis"]);
  const mean = out[1]!;
  const rootn = out[2]!;
  assert.ok(mean.auroc < 0.5, `mean pooling AUROC ${mean.auroc}`);
  assert.ok(rootn.auroc > 0.95, `rootn pooling AUROC ${rootn.auroc}`);
  assert.ok(rootn.recall > 0.8 && rootn.precision > 0.9, `rootn P ${rootn.precision} R ${rootn.recall}`);
});
