import { test } from "node:test";
import assert from "node:assert/strict";
import { checkRidesInside, evaluatedRate, positivesOf, sourceTaskOf } from "../../src/bench/task-roles.js";
import { plantedTask } from "./planted-source.js";

test("benign-shift rides on jailbreak-ood with shift items as positives; every other task is its own anomaly task", () => {
  assert.equal(sourceTaskOf("benign-shift"), "jailbreak-ood");
  assert.equal(sourceTaskOf("story-ood"), "story-ood");
  assert.deepEqual([positivesOf("benign-shift"), positivesOf("jailbreak-ood")], ["shift", "anomalous"]);
  const mix = { anomalous: 30, normal: 60, shift: 10 };
  assert.equal(evaluatedRate("jailbreak-ood", mix), 30 / 90);
  assert.equal(evaluatedRate("benign-shift", mix), 10 / 70);
  assert.equal(evaluatedRate("story-ood", { anomalous: 0, normal: 0, shift: 5 }), 0);
});

test("a riding task whose items are not its source task's, split for split, is refused", () => {
  const source = plantedTask();
  const rider = { ...source, untrusted: source.untrusted.slice(0, 10) };
  checkRidesInside(rider, source);
  const moved = { ...source, untrusted: [{ ...source.untrusted[0]!, split: source.untrusted[0]!.split === "test" ? ("validation" as const) : ("test" as const) }] };
  assert.throws(() => checkRidesInside(moved, source), /benign-shift item 'n0' \(test\) is not in jailbreak-ood with the same split/);
});
