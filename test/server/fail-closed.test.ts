// Issue 21, "blinding the monitor": each reproduction as a test. (a) finite but extreme activations make a
// hook's score NaN — every combiner must then give the most anomalous verdict (combined +Infinity, the
// smallest p-value, flagged), in the library, over HTTP and in `madkit score`; (b) such items cannot train the
// probe (409 naming them), nor is a degenerate probe installed; (c) text the model cannot read is flagged for
// review with its unknown share; (d) an α the calibration set cannot flag at is refused by fit and serve.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { extractActivations } from "../../src/activations/extract.js";
import { fitBundle, type FittedBundle } from "../../src/bundle/bundle.js";
import { COMBINERS, hookTerms, HookNormaliser, reduceTerms, type Combiner } from "../../src/bundle/combine.js";
import { run } from "../../src/cli/main.js";
import { mahalanobis } from "../../src/detectors/mahalanobis.js";
import { isMadkitError } from "../../src/errors.js";
import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import type { ActivationSource, ForwardResult } from "../../src/models/source.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { LogisticProbe } from "../../src/server/logistic-probe.js";
import { MonitorMetrics } from "../../src/server/metrics.js";
import { MonitorScorer } from "../../src/server/scorer.js";
import { capture, cli } from "../helpers/cli.js";
import { activationsBody, gaussianRows, HOOKS, startTestMonitor, textSource } from "./fixture.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-fail-closed-"));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Hook 0: 64 units of trusted spread 1e-3, so L⁻¹ is large and [3e38]*64 overflows the float32 gemm to NaN. */
const WIDE = { name: "blocks.0.hook_resid_post", dim: 64 } as const;
const NARROW = { name: "blocks.1.hook_resid_post", dim: 4 } as const;

function extremeBundle(combiner: Combiner): FittedBundle {
  const rng = new SeededRng(1);
  const wide = gaussianRows(400, WIDE.dim, rng);
  for (let i = 0; i < wide.data.length; i++) wide.data[i]! *= 1e-3;
  const matrices = new Map<string, Matrix>([[WIDE.name, wide], [NARROW.name, gaussianRows(400, NARROW.dim, rng)]]);
  return fitBundle({ matrices, detector: mahalanobis({ covariance: "ledoit-wolf" }), combiner, alpha: 0.05, seed: 0, pooling: "mean" });
}

function extremeActivations(rng: SeededRng): Record<string, number[]> {
  return { [WIDE.name]: new Array(WIDE.dim).fill(3e38), [NARROW.name]: Array.from({ length: NARROW.dim }, () => rng.normal()) };
}

const asMatrices = (body: Record<string, number[]>) => new Map<string, Matrix>(Object.entries(body).map(([k, v]) => [k, matrix(1, v.length, Float32Array.from(v))]));

describe("(a) a non-finite hook score is the most anomalous verdict, never 'normal'", () => {
  test("library: with every combiner, [3e38]*64 on one hook gives that hook a non-finite score, combined +Infinity, the smallest p-value, flagged", () => {
    const rng = new SeededRng(2);
    for (const combiner of COMBINERS) {
      const bundle = extremeBundle(combiner);
      const s = bundle.score(asMatrices(extremeActivations(rng)));
      // NaN on OpenBLAS (float32 sums overflow, then Inf − Inf), +Infinity on the portable back end (float64 sums):
      // either way the reproduction needs a hook score that is not finite.
      assert.ok(!Number.isFinite(s.perHook.get(WIDE.name)![0]!), `${combiner}: the reproduction needs a non-finite hook score, got ${s.perHook.get(WIDE.name)![0]}`);
      assert.equal(s.combined[0], Infinity, combiner);
      assert.equal(s.pValue[0], 1 / (bundle.calibration.n + 1), combiner);
      assert.equal(bundle.flag(s.pValue[0]!), true, combiner);
      assert.ok(s.combined[0]! > bundle.threshold(), combiner);
      const [e] = bundle.explain(asMatrices(extremeActivations(rng)));
      assert.equal(e!.topHook, WIDE.name, `${combiner}: the unmeasurable hook is blamed`);
      assert.equal(e!.combined, Infinity);
    }
  });

  test("combine: a NaN or overflowing term makes every reducer +Infinity (before: max skipped it, mean and sum gave NaN)", () => {
    const n = HookNormaliser.of([1, 2, 3, 4], "test");
    for (const combiner of COMBINERS) {
      const terms = hookTerms(combiner, [Float64Array.of(NaN), Float64Array.of(1)], [n, n], 0, new Float64Array(2));
      assert.equal(terms[0], Infinity, combiner);
      assert.equal(reduceTerms(combiner, terms), Infinity, combiner);
      // A finite score whose z-score overflows to −Infinity must not drag `mean` / `sum` to −Infinity.
      const tiny = new HookNormaliser(n.calibration);
      Object.defineProperty(tiny, "std", { value: 1e-300 });
      const under = hookTerms(combiner, [Float64Array.of(-1e300), Float64Array.of(1)], [tiny, n], 0, new Float64Array(2));
      if (combiner !== "fisher") assert.equal(under[0], Infinity, combiner);
    }
    assert.equal(reduceTerms("mean", Float64Array.of(Infinity, -Infinity)), Infinity);
    assert.equal(reduceTerms("max", Float64Array.of(1, NaN, 2)), Infinity);
  });

  test("HTTP: 200 with flagged true, the reason naming the hook, combined null, p at its minimum, queued for review", async () => {
    const m = await startTestMonitor({ bundle: extremeBundle("max") });
    try {
      const r = await m.call("POST", "/v1/score", m.tokens.client, { activations: extremeActivations(new SeededRng(3)) });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.flagged, true);
      assert.equal(r.json.perHook[WIDE.name], null, "a non-finite score serialises as null");
      assert.equal(r.json.combined, null, "+Infinity serialises as null");
      assert.equal(r.json.pValue, 1 / (m.server.scorer.bundle.calibration.n + 1));
      assert.deepEqual(r.json.failClosed.map((x: { code: string }) => x.code), ["NON_FINITE_SCORE"]);
      assert.deepEqual(r.json.failClosed[0].hooks, [WIDE.name]);
      assert.match(r.json.failClosed[0].message, /blocks\.0\.hook_resid_post' scored (NaN|Infinity)/);
      assert.equal(r.json.unknownShare, null, "activations input: nothing to read");
      assert.equal(typeof r.json.itemId, "number");
      const item = await m.call("GET", `/v1/items/${r.json.itemId}`, m.tokens.reviewer);
      assert.equal(item.json.scores.failClosed[0].code, "NON_FINITE_SCORE");
    } finally {
      await m.close();
    }
  });

  test("madkit score: the extreme input's record is flagged (combined null in JSONL, p at its minimum)", async () => {
    const trusted = path.join(tmp, "trusted");
    const mixed = path.join(tmp, "mixed");
    await extractActivations({ source: vectorSource(), inputs: Array.from({ length: 300 }, (_, i) => `trusted ${i}`), hooks: "all", pooling: "mean", out: trusted });
    await extractActivations({ source: vectorSource(), inputs: ["fresh 1", "extreme 2", "fresh 3"], hooks: "all", pooling: "mean", out: mixed });
    const det = path.join(tmp, "det");
    await cli(["fit", "--activations", trusted, "--detector", "mahalanobis", "--param", "covariance=ledoit-wolf", "--alpha", "0.05", "--out", det, "--json"]);
    const records = (await cli(["score", "--detector", det, "--activations", mixed, "--json"])).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(records.length, 3);
    const extreme = records[1];
    assert.equal(extreme.scores[WIDE.name], null, "the hook score is NaN (null in JSON): the reproduction holds");
    assert.equal(extreme.combined, null);
    assert.equal(extreme.flagged, true);
    assert.ok(extreme.pValue <= 0.05);
    assert.equal(records[0].flagged && records[2].flagged, false, "ordinary inputs are not all flagged");
  });
});

/** A stand-in model for `madkit extract`: hook 0 is Gaussian × 1e-3 (or 3e38 for texts starting "extreme"). */
function vectorSource(): ActivationSource {
  const hooks = [WIDE, NARROW].map((h, layer) => ({ ...h, granularity: "sequence" as const, layer }));
  return {
    info: { id: "vectors", revision: "v1", format: "onnx", nLayers: 2, dModel: 64, vocabSize: 1, contextLength: 8 },
    hooks: () => hooks,
    tokenize: () => ({ ids: Int32Array.of(1), pieces: ["x"] }),
    forward: async (texts, options): Promise<ForwardResult> => ({
      activations: texts.map((t) => {
        const rng = new SeededRng(createHash("sha256").update(t).digest().readUInt32LE(0));
        return new Map(
          options.hooks.map((name) => {
            const h = hooks.find((x) => x.name === name)!;
            const v = Float32Array.from({ length: h.dim }, () => (h === hooks[0] ? (t.startsWith("extreme") ? 3e38 : rng.normal() * 1e-3) : rng.normal()));
            return [name, matrix(1, h.dim, v)] as const;
          }),
        );
      }),
      tokenCounts: texts.map(() => 1),
      truncated: texts.map(() => false),
      unknownTokens: texts.map(() => 0),
      unknownShare: texts.map(() => 0),
    }),
    dispose: async () => {},
  };
}

describe("(b) the probe refuses what it cannot learn from", () => {
  test("labelled items flagged for a non-finite score make training answer 409 naming them; as 'unsure' they are left out", async () => {
    const m = await startTestMonitor({ bundle: extremeBundle("max") });
    const rng = new SeededRng(11);
    try {
      const score = async (activations: Record<string, number[]>) => (await m.call("POST", "/v1/score", m.tokens.client, { activations })).json;
      const shifted = (shift: number) => ({ [WIDE.name]: Array.from({ length: WIDE.dim }, () => rng.normal() * 1e-3 + shift * 1e-3), [NARROW.name]: Array.from({ length: NARROW.dim }, () => rng.normal() + shift) });
      const extremeIds: number[] = [];
      for (let i = 0; i < 7; i++) {
        const r = await score(extremeActivations(rng));
        extremeIds.push(r.itemId);
        await m.call("POST", `/v1/items/${r.itemId}/label`, m.tokens.reviewer, { label: "anomalous" });
      }
      for (let i = 0; i < 14; i++) {
        const up = i % 2 === 0;
        const r = await score(shifted(up ? 6 : -6));
        assert.equal(r.flagged, true);
        await m.call("POST", `/v1/items/${r.itemId}/label`, m.tokens.reviewer, { label: up ? "anomalous" : "benign" });
      }
      const refused = await m.call("POST", "/v1/probe/train", m.tokens.admin, {});
      assert.equal(refused.status, 409, refused.text);
      assert.equal(refused.json.error.code, "UNTRAINABLE_ITEMS");
      for (const id of extremeIds) assert.match(refused.json.error.message, new RegExp(`item ${id} \\(hook 'blocks\\.0\\.hook_resid_post' scored non-finite`));
      assert.match(refused.json.error.message, /Label them 'unsure'/);
      assert.deepEqual((await m.call("GET", "/v1/probe", m.tokens.reviewer)).json, { probe: null });

      for (const id of extremeIds) await m.call("POST", `/v1/items/${id}/label`, m.tokens.reviewer, { label: "unsure" });
      const trained = await m.call("POST", "/v1/probe/train", m.tokens.admin, {});
      assert.equal(trained.status, 200, trained.text);
      assert.deepEqual([trained.json.nAnomalous, trained.json.nBenign], [7, 7]);
      // The probe tells inputs apart (before the fix it gave every input the same score).
      const probeScores = new Set<number>();
      for (const shift of [-1, -0.5, 0, 0.5, 1]) probeScores.add((await score(shifted(shift))).probe.score);
      assert.equal(probeScores.size, 5);
    } finally {
      await m.close();
    }
  });

  test("a degenerate probe (the same score for every labelled item) is refused with 409 and not installed", async () => {
    const m = await startTestMonitor();
    try {
      const same = Object.fromEntries(HOOKS.map((h) => [h.name, new Float32Array(h.dim).fill(0.5)]));
      for (let i = 0; i < 6; i++) {
        const id = await m.store.insertItem({ text: null, activations: same, scores: {}, combined: 1, pValue: 0.01, createdAt: i });
        await m.store.setLabel(id, i % 2 ? "anomalous" : "benign", null, "r", i);
      }
      const r = await m.call("POST", "/v1/probe/train", m.tokens.admin, {});
      assert.equal(r.status, 409, r.text);
      assert.equal(r.json.error.code, "DEGENERATE_PROBE");
      assert.match(r.json.error.message, /gives all 6 labelled items the same score/);
      assert.deepEqual((await m.call("GET", "/v1/probe", m.tokens.reviewer)).json, { probe: null });
    } finally {
      await m.close();
    }
  });

  test("library: LogisticProbe.train refuses non-finite features, naming the row, hook and unit", () => {
    const hooks = [{ name: "a", dim: 2 }, { name: "b", dim: 3 }];
    const x = new Float64Array(4 * 5).map((_, i) => Math.sin(i));
    x[2 * 5 + 3] = NaN;
    assert.throws(
      () => LogisticProbe.train(hooks, { rows: 4, cols: 5, data: x }, Uint8Array.of(1, 0, 1, 0)),
      (e: unknown) => isMadkitError(e) && e.code === "NON_FINITE" && /row 2, hook 'b' unit 1 is NaN/.test(e.message),
    );
  });
});

describe("(c) text the model cannot read is flagged for review, with its unknown share", () => {
  const UNREADABLE = ["日本語のテキストです", "这是一个中文句子", "😀", "\u200b", "\u0000"];

  test("stand-in model: unreadable texts are flagged UNREADABLE_TEXT; readable ones report share 0; the limit is configurable", async () => {
    const m = await startTestMonitor({ source: textSource() });
    try {
      const r = await m.call("POST", "/v1/score", m.tokens.client, { items: [...UNREADABLE, "hello there", "hello wörld"].map((text) => ({ text })) });
      assert.equal(r.status, 200, r.text);
      const results = r.json.results;
      for (let i = 0; i < UNREADABLE.length; i++) {
        assert.equal(results[i].flagged, true, JSON.stringify(UNREADABLE[i]));
        assert.equal(results[i].unknownShare, 1);
        assert.equal(results[i].failClosed[0].code, "UNREADABLE_TEXT");
        assert.match(results[i].failClosed[0].message, /could read none of this text/);
        assert.equal(typeof results[i].itemId, "number");
      }
      assert.equal(results[5].unknownShare, 0);
      assert.equal(results[5].failClosed, undefined);
      assert.equal(results[6].unknownShare, 0.1, "one of ten visible characters");
      assert.equal(results[6].failClosed, undefined, "10% is under the default limit of 50%");
    } finally {
      await m.close();
    }
    const strict = await startTestMonitor({ source: textSource(), scorer: { maxUnknownShare: 0.05 } });
    try {
      const r = await strict.call("POST", "/v1/score", strict.tokens.client, { text: "hello wörld" });
      assert.equal(r.json.flagged, true);
      assert.match(r.json.failClosed[0].message, /could not read 10\.0% of this text .* more than the limit of 5\.0%/);
    } finally {
      await strict.close();
    }
  });

  test("use-lite: Japanese, Chinese, an emoji, a zero-width space and NUL all read as one unknown token — same score, now flagged", async () => {
    const { loadModel } = await import("../../src/models/registry.js");
    const { extractPooled } = await import("../../src/activations/pooled-in-memory.js");
    const source = await loadModel("use-lite");
    const WORDS = ["the", "cat", "sat", "on", "a", "mat", "please", "write", "short", "poem", "about", "rain", "explain", "how", "tides", "work", "list", "three", "facts", "about", "mars"];
    const rng = new SeededRng(5);
    const texts = Array.from({ length: 150 }, () => Array.from({ length: 4 + rng.int(8) }, () => WORDS[rng.int(WORDS.length)]).join(" "));
    const hook = "hook_sentence_embedding";
    const matrices = await extractPooled(source, texts, [hook], { pooling: "mean" });
    const bundle = fitBundle({ matrices, detector: mahalanobis({ covariance: "ledoit-wolf" }), alpha: 0.05, pooling: "mean", model: { id: source.info.id, revision: source.info.revision, format: source.info.format } });
    const m = await startTestMonitor({ source, bundle });
    try {
      const r = await m.call("POST", "/v1/score", m.tokens.client, { items: [...UNREADABLE, "please write a short poem about the rain"].map((text) => ({ text })) });
      assert.equal(r.status, 200, r.text);
      const results = r.json.results;
      const combined = new Set(results.slice(0, UNREADABLE.length).map((x: { combined: number }) => x.combined));
      assert.equal(combined.size, 1, "the model cannot tell them apart: the reason they must not get a confident verdict");
      for (let i = 0; i < UNREADABLE.length; i++) {
        assert.equal(results[i].unknownShare, 1, JSON.stringify(UNREADABLE[i]));
        assert.equal(results[i].unknownTokens, 1);
        assert.equal(results[i].flagged, true);
        assert.equal(results[i].failClosed.at(-1).code, "UNREADABLE_TEXT");
      }
      const english = results[UNREADABLE.length];
      assert.equal(english.unknownShare, 0);
      assert.equal(english.unknownTokens, 0);
      assert.equal(english.failClosed, undefined);
      // The worker's scores are the library's, in this thread, on the same request.
      const lib = new MonitorScorer(bundle, 0.05, new MonitorMetrics(), source);
      const want = await lib.scoreGroups([[...UNREADABLE, "please write a short poem about the rain"].map((text) => ({ text }))]);
      assert.equal(want.outcomes[0]!.ok, true);
      const wantResults = (want.outcomes[0] as { results: { combined: number; pValue: number; perHook: object }[] }).results;
      assert.deepEqual(
        results.map((x: { combined: number | null; pValue: number; perHook: object }) => [x.combined, x.pValue, x.perHook]),
        wantResults.map((x) => [x.combined, x.pValue, x.perHook]),
      );
    } finally {
      await m.close();
      await source.dispose();
    }
  });
});

describe("(d) an α the calibration set cannot flag at is refused, naming the smallest α it supports", () => {
  // The numbers: 1,243 trusted inputs, 30% held out over 3 hooks: 187 combined calibration scores.
  const rng = new SeededRng(31);
  const matrices = new Map<string, Matrix>(["blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "hook_sentence_embedding"].map((h) => [h, gaussianRows(1243, 3, rng)]));
  const fit = (alpha: number) => fitBundle({ matrices, detector: mahalanobis(), calibrationFraction: 0.3, alpha, seed: 0, pooling: "mean" });
  const refusal = /α = 0\.001 can never flag anything with .* of 187 calibration scores: .* the smallest α it supports is 0\.00532; use α ≥ 0\.00532, or calibrate on at least 999 trusted inputs/;

  test("library: fitBundle, FittedBundle.threshold and MonitorScorer refuse α = 0.001 with 187 calibration scores", () => {
    assert.throws(() => fit(0.001), (e: unknown) => isMadkitError(e) && e.code === "BAD_ARGUMENT" && refusal.test(e.message));
    const bundle = fit(0.01);
    assert.equal(bundle.meta.nCalibrate, 187);
    assert.throws(() => bundle.threshold(0.001), refusal);
    assert.throws(() => new MonitorScorer(bundle, 0.001, new MonitorMetrics()), refusal);
    // The printed smallest α works, and 1/188 itself does.
    assert.ok(Number.isFinite(bundle.threshold(0.00532)));
    assert.ok(Number.isFinite(bundle.threshold(1 / 188)));
    assert.throws(() => bundle.threshold(1 / 188 - 1e-9), /smallest α it supports is 0\.00532/);
  });

  test("madkit fit --alpha 0.001 and madkit serve --alpha 0.001 exit 1 with that message", async () => {
    const det = path.join(tmp, "det-187");
    fit(0.01).save(det);
    const serve = capture();
    assert.equal(await run(["serve", "--model", "none", "--detector", det, "--alpha", "0.001", "--db", path.join(tmp, "serve.sqlite"), "--port", "0"], serve), 1);
    assert.match(serve.err(), refusal);
    assert.doesNotMatch(serve.err(), /listening on/);

    const store = path.join(tmp, "store-40");
    await extractActivations({ source: vectorSource(), inputs: Array.from({ length: 40 }, (_, i) => `t${i}`), hooks: "all", pooling: "mean", out: store });
    const io = capture();
    assert.equal(await run(["fit", "--activations", store, "--detector", "mahalanobis", "--param", "covariance=ledoit-wolf", "--alpha", "0.001", "--out", path.join(tmp, "never")], io), 1);
    assert.match(io.err(), /α = 0\.001 can never flag anything with the held-out split of 4 calibration scores: .* the smallest α it supports is 0\.2/);
  });
});
