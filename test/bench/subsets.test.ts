import assert from "node:assert/strict";
import { test } from "node:test";
import { anomalySubsets, shiftSubsets } from "../../src/bench/subsets.js";
import type { ItemGroup, TaskItem } from "../../src/tasks/task.js";

function item(id: string, group: ItemGroup, family: string): TaskItem {
  return { id, text: id, label: group === "anomalous" ? 1 : 0, family, group, attackClass: group === "anomalous" ? family : null, split: "validation", source: "synthetic" };
}

/** 30 normal, 20 shift (two families), 25 anomalous (two families), interleaved so indices are not blocks. */
function mixedSplit(): TaskItem[] {
  const items: TaskItem[] = [];
  for (let k = 0; k < 30; k++) {
    items.push(item(`n${k}`, "normal", "benign-heldout"));
    if (k < 20) items.push(item(`s${k}`, "shift", k % 2 ? "shift-gsm8k" : "shift-truthfulqa"));
    if (k < 25) items.push(item(`a${k}`, "anomalous", k < 10 ? "gcg-suffix" : "jailbreak-wild"));
  }
  return items;
}

const ids = (items: readonly TaskItem[], idx: Uint32Array): string[] => Array.from(idx, (i) => items[i]!.id).sort();
const tokens = (i: number): number => 5 + (i % 17);

test("the anomaly subset `all` holds the normal and anomalous items and no shift item", () => {
  const items = mixedSplit();
  const all = anomalySubsets(items, tokens, 1, "validation").find((s) => s.name === "all")!;
  const expected = items.filter((it) => it.group !== "shift").map((it) => it.id).sort();
  assert.deepEqual(ids(items, all.indices), expected);
  assert.equal(all.indices.length, 55);
  // Labels are 1 exactly on the anomalous items.
  all.indices.forEach((i, k) => assert.equal(all.labels[k], items[i]!.group === "anomalous" ? 1 : 0));
});

test("each family subset is that family's anomalies against the same normal items", () => {
  const items = mixedSplit();
  const subs = anomalySubsets(items, tokens, 1, "validation");
  assert.deepEqual(subs.map((s) => s.name), ["all", "gcg-suffix", "jailbreak-wild", "length-matched"]);
  const normals = items.filter((it) => it.group === "normal").map((it) => it.id);
  for (const [name, n] of [["gcg-suffix", 10], ["jailbreak-wild", 15]] as const) {
    const s = subs.find((x) => x.name === name)!;
    const want = [...normals, ...items.filter((it) => it.family === name).map((it) => it.id)].sort();
    assert.deepEqual(ids(items, s.indices), want);
    assert.equal(s.labels.reduce((a, b) => a + b, 0), n);
  }
});

test("the length-matched subset draws its negatives from normal items only", () => {
  const items = mixedSplit();
  const lm = anomalySubsets(items, tokens, 1, "validation").find((s) => s.name === "length-matched")!;
  assert.ok(lm.indices.length > 0);
  for (const i of lm.indices) assert.notEqual(items[i]!.group, "shift");
  const nPos = lm.labels.reduce((a, b) => a + b, 0);
  assert.equal(nPos * 2, lm.indices.length, "matching keeps the same count on both sides");
});

test("a split with only shift items as benign items gives no anomaly subsets", () => {
  const items = mixedSplit().filter((it) => it.group !== "normal");
  assert.deepEqual(anomalySubsets(items, tokens, 1, "validation"), []);
});

test("benign-shift subsets put shift items as positives against normal items and drop the anomalies", () => {
  const items = mixedSplit();
  const subs = shiftSubsets(items);
  assert.deepEqual(subs.map((s) => s.name), ["all", "shift-gsm8k", "shift-truthfulqa"]);
  const all = subs[0]!;
  assert.deepEqual(ids(items, all.indices), items.filter((it) => it.group !== "anomalous").map((it) => it.id).sort());
  all.indices.forEach((i, k) => assert.equal(all.labels[k], items[i]!.group === "shift" ? 1 : 0));
});
