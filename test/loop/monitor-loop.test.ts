// The monitor loop through the real service on loopback, at a tiny size: round 0 (before any review) equals
// the same monitor computed here in-process — the bundle's own p-values, a probe fitted here on the initial
// set, its threshold from the benign calibration scores — and a review round spends exactly its budget, goes
// through the queue and the import route, and retrains the probe (a new version scores the next round).

import assert from "node:assert/strict";
import { test } from "node:test";
import { conformalThreshold } from "../../src/eval/conformal.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import { prepareMonitorLoop, rowActivations, runOneLoop, type ActivationTable } from "../../src/loop/run-monitor-loop.js";
import { LogisticProbe } from "../../src/server/logistic-probe.js";

const SIZES = {
  detectorFit: 150,
  initialHarmful: 30,
  initialBenign: 30,
  probeCalibration: 40,
  rounds: 2,
  perRound: { benign: 20, "benign-shift": 6, lookalike: 6, "known-harm": 4, novel: 8 },
};

function rows(table: ActivationTable, texts: readonly string[], hook: string): Matrix<Float32Array> {
  const m = table.matrices.get(hook)!;
  const data = new Float32Array(texts.length * m.cols);
  texts.forEach((t, i) => data.set(rowActivations(table, t)[hook]!, i * m.cols));
  return matrix(texts.length, m.cols, data);
}

test("the loop's first round through HTTP equals the monitor computed in-process; a review round spends its budget and retrains", async () => {
  const p = await prepareMonitorLoop({ seed: 3, quick: true, sizes: SIZES, families: ["synthetic-wrapper"], alphaDetector: 0.04, alphaProbe: 0.05, budgetPerRound: 4 });
  const rounds = p.data.rounds.get("synthetic-wrapper")!;
  const calibration = p.data.probeCalibration.map((t) => rowActivations(p.table, t));
  const requests: Record<string, number> = {};
  const { curve } = await runOneLoop({ bundle: p.bundle, table: p.table, initial: p.data.initial, calibration, rounds, family: "synthetic-wrapper", policy: "anomaly", o: p.o, requests });

  // In-process: detector p-values from the bundle, the probe fitted on the initial set, its conformal threshold.
  const hooks = p.bundle.hooks.map((h) => h.name);
  const round0 = rounds[0]!;
  const texts = round0.map((x) => x.text);
  const scored = p.bundle.score(new Map(hooks.map((h) => [h, rows(p.table, texts, h)])));
  const probeHook = p.o.probeHooks[0]!;
  const init = rows(p.table, p.data.initial.map((x) => x.text), probeHook);
  const probe = LogisticProbe.train([{ name: probeHook, dim: init.cols }], { rows: init.rows, cols: init.cols, data: Float64Array.from(init.data) }, Uint8Array.from(p.data.initial.map((x) => x.label)), p.o.l2);
  const probeScore = (t: string) => probe.score((h) => rowActivations(p.table, t)[h]!);
  const threshold = conformalThreshold(Float64Array.from(p.data.probeCalibration.map(probeScore)), p.o.alphaProbe);
  const flagged = round0.map((x, i) => scored.pValue[i]! <= p.o.alphaDetector || probeScore(x.text) > threshold);
  const rateOf = (kind: string) => {
    const f = round0.flatMap((x, i) => (x.kind === kind ? [flagged[i]!] : []));
    return f.filter(Boolean).length / f.length;
  };

  const [first, second] = curve.points;
  assert.ok(Math.abs(first!.probeThreshold - threshold) < 1e-9, `${first!.probeThreshold} vs ${threshold}`);
  assert.equal(first!.recall, rateOf("novel"));
  assert.equal(first!.recallKnown, rateOf("known-harm"));
  assert.equal(first!.fprBenign, rateOf("benign"));
  assert.equal(first!.fprShift, rateOf("benign-shift"));
  assert.equal(first!.fprLookalike, rateOf("lookalike"));
  assert.equal(first!.flaggedByDetector, round0.filter((_, i) => scored.pValue[i]! <= p.o.alphaDetector).length);
  assert.equal(first!.labels, 0);

  assert.equal(second!.labels, 4);
  assert.ok(second!.novelLabelled <= 4);
  assert.ok(second!.probeId > first!.probeId, "the probe was retrained after the review round");
  assert.equal(requests["POST /v1/probe/train"], 2);
  assert.equal(requests["GET /v1/queue"], 1);
  // Every reviewed item went through exactly one of the two routes: a label in the queue, or an import.
  assert.equal((requests["POST /v1/items/{id}/label"] ?? 0) + (requests["POST /v1/items/import"] ?? 0) > 1, true);
  assert.equal(curve.labelsToTarget, curve.points.find((x) => x.recall >= 0.9)?.labels ?? null);
});
