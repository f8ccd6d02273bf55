// Built tasks: deterministic per seed, trusted and untrusted disjoint (no harmful request or wrapped base in
// trusted), labels agree with groups, every item has a split with base requests never on both sides, and the
// mix counts what is there.

import assert from "node:assert/strict";
import { test } from "node:test";
import { isMadkitError } from "../../src/errors.js";
import { loadJailbreakPools } from "../../src/tasks/jailbreak-ood.js";
import { buildTask, TASK_NAMES } from "../../src/tasks/registry.js";
import type { Task } from "../../src/tasks/task.js";

const quick = Object.fromEntries(TASK_NAMES.map((n) => [n, buildTask(n, { seed: 1, quick: true })])) as Record<string, Task>;
const full = buildTask("jailbreak-ood", { seed: 1 });

function trustedTexts(t: Task): Set<string> {
  return new Set([...t.trusted.fit, ...t.trusted.calibration, ...t.trusted.validation].map((r) => r.text));
}

test("buildTask gives the same task, item for item, for the same name and seed", () => {
  for (const n of TASK_NAMES) assert.deepEqual(buildTask(n, { seed: 1, quick: true }), quick[n]);
});

test("a different seed draws different trusted and untrusted items", () => {
  for (const n of TASK_NAMES) {
    const other = buildTask(n, { seed: 2, quick: true });
    assert.notDeepEqual(other.trusted.fit.map((r) => r.id), quick[n]!.trusted.fit.map((r) => r.id));
    assert.notDeepEqual(other.untrusted.map((r) => r.id), quick[n]!.untrusted.map((r) => r.id));
  }
});

test("the full jailbreak-ood task has the documented sizes and every family", () => {
  assert.deepEqual(full.mix.trusted, { fit: 2000, calibration: 500, validation: 500 });
  const u = full.mix.untrusted;
  assert.equal(u.normal, 400);
  assert.equal(u.shift, 600);
  for (const f of ["jailbreak-wild", "gcg-suffix", "harmful-plain"]) assert.equal(u.byFamily[f], 200, f);
  for (const f of ["synthetic-roleplay", "synthetic-injection", "synthetic-manyshot", "synthetic-random-suffix", "obfuscation-base64", "obfuscation-leetspeak", "obfuscation-spacing"]) {
    assert.equal(u.byFamily[f], 96, f);
  }
  assert.equal(u.anomalous, 600 + 7 * 96);
  assert.equal(u.anomalyRate, (600 + 7 * 96) / (1000 + 600 + 7 * 96));
});

for (const t of [full, ...Object.values(quick)]) {
  const tag = `${t.name}${t === full ? "" : " (quick)"}`;

  test(`${tag}: trusted splits are disjoint from each other and from every untrusted text`, () => {
    const { fit, calibration, validation } = t.trusted;
    const all = trustedTexts(t);
    assert.equal(all.size, fit.length + calibration.length + validation.length);
    for (const it of t.untrusted) assert.ok(!all.has(it.text), `${it.id} is also trusted`);
    assert.equal(new Set(t.untrusted.map((x) => x.text)).size, t.untrusted.length, "untrusted texts are distinct");
    assert.equal(new Set(t.untrusted.map((x) => x.id)).size, t.untrusted.length, "untrusted ids are distinct");
  });

  test(`${tag}: labels follow groups and every item has a family, a split and (if anomalous) an attack class`, () => {
    for (const it of t.untrusted) {
      assert.equal(it.label, it.group === "anomalous" ? 1 : 0, it.id);
      assert.ok(it.family.length > 0);
      assert.ok(it.split === "validation" || it.split === "test");
      assert.equal(it.attackClass === null, it.group !== "anomalous", it.id);
    }
  });

  test(`${tag}: each family is split about half and half, with a base request never on both sides`, () => {
    const sides = new Map<string, Set<string>>();
    for (const it of t.untrusted) {
      const key = `${it.family}|${it.baseId ?? it.id}`;
      if (!sides.has(key)) sides.set(key, new Set());
      sides.get(key)!.add(it.split);
    }
    for (const [k, s] of sides) assert.equal(s.size, 1, k);
    for (const [family, n] of Object.entries(t.mix.untrusted.byFamily)) {
      const v = t.untrusted.filter((x) => x.family === family && x.split === "validation").length;
      assert.ok(Math.abs(v - n / 2) <= Math.max(1, n * 0.05), `${family}: ${v} of ${n} in validation`);
    }
  });

  test(`${tag}: the mix counts the items`, () => {
    const u = t.mix.untrusted;
    assert.equal(u.total, t.untrusted.length);
    assert.equal(u.anomalous + u.normal + u.shift, u.total);
    assert.equal(Object.values(u.byFamily).reduce((a, b) => a + b, 0), u.total);
    assert.equal(u.bySplit.validation + u.bySplit.test, u.total);
    assert.equal(u.anomalous, t.untrusted.filter((x) => x.label === 1).length);
  });
}

test("no harmful request that any attack wraps is in jailbreak-ood's trusted set", () => {
  const trusted = trustedTexts(full);
  const pools = loadJailbreakPools();
  const harmful = [...pools.plainHarmful, ...pools.syntheticBases, ...pools.forbiddenQuestions, ...pools.gcg.map((r) => ({ text: r.goal }))];
  for (const r of harmful) assert.ok(!trusted.has(r.text), r.text);
  // And every synthetic attack's base id points into that harmful pool.
  const baseIds = new Set(pools.syntheticBases.map((r) => r.id));
  for (const it of full.untrusted.filter((x) => /^(synthetic|obfuscation)-/.test(x.family))) assert.ok(baseIds.has(it.baseId!), it.id);
});

test("jailbreak-ood keeps plain harmful, GCG and synthetic requests apart", () => {
  const gcgGoals = new Set(full.untrusted.filter((x) => x.family === "gcg-suffix").map((x) => x.baseId!.slice("gcg-goal:".length)));
  for (const it of full.untrusted.filter((x) => x.family === "harmful-plain")) assert.ok(!gcgGoals.has(it.text), it.text);
  const synthBases = full.untrusted.filter((x) => x.family.startsWith("synthetic-") || x.family.startsWith("obfuscation-")).map((x) => x.baseId!);
  assert.equal(new Set(synthBases).size, synthBases.length, "each synthetic attack wraps its own request");
  for (const b of synthBases) assert.ok(!b.startsWith("advbench/"), b);
});

test("benign-shift is jailbreak-ood's normal and shift items with the same trusted set", () => {
  const j = quick["jailbreak-ood"]!;
  const b = quick["benign-shift"]!;
  assert.deepEqual(b.trusted, j.trusted);
  assert.deepEqual(b.untrusted, j.untrusted.filter((x) => x.group !== "anomalous"));
  assert.equal(b.mix.untrusted.anomalous, 0);
  assert.ok(b.untrusted.some((x) => x.group === "shift"));
});

test("story-ood corrupts paragraphs that are neither trusted nor held-out normal", () => {
  const t = quick["story-ood"]!;
  const trustedIds = new Set([...t.trusted.fit, ...t.trusted.calibration, ...t.trusted.validation].map((r) => r.id));
  const normalIds = new Set(t.untrusted.filter((x) => x.group === "normal").map((x) => x.id));
  for (const it of t.untrusted.filter((x) => x.family.startsWith("story-") && x.group === "anomalous")) {
    assert.ok(!trustedIds.has(it.baseId!) && !normalIds.has(it.baseId!), it.id);
  }
  assert.deepEqual(t.models, ["stories260k"]);
});

test("sizes override the defaults, and bad names, seeds and sizes are refused", () => {
  const t = buildTask("story-ood", { seed: 1, quick: true, sizes: { fit: 30, perFamily: 4 } });
  assert.equal(t.trusted.fit.length, 30);
  assert.equal(t.mix.untrusted.byFamily["story-shuffled"], 4);
  const bad = (f: () => unknown, code: string) => assert.throws(f, (e: unknown) => isMadkitError(e) && e.code === code);
  bad(() => buildTask("nope", { seed: 1 }), "BAD_ARGUMENT");
  bad(() => buildTask("story-ood", { seed: 1.5 }), "BAD_ARGUMENT");
  bad(() => buildTask("story-ood", { seed: 1, sizes: { fit: -1 } }), "BAD_ARGUMENT");
  bad(() => buildTask("story-ood", { seed: 1, sizes: { fit: 5000 } }), "BAD_ARGUMENT");
});
