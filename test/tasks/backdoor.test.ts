// The backdoor tasks and training data: deterministic, built only from stories the fine-tuning never read,
// triggered items are clean prompts plus the trigger, and a triggered training sequence's loss covers
// exactly the target phrase.

import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { config } from "../../src/config.js";
import { decode, encode, readLlama2cTokenizer } from "../../src/models/llama2c/tokenizer.js";
import { buildBackdoorTask } from "../../src/tasks/backdoor.js";
import { buildTask } from "../../src/tasks/registry.js";
import {
  backdoorCheckpointInfo,
  backdoorStorySplit,
  backdoorTrainingSet,
  TARGET_PHRASE,
  TRIGGERS,
} from "../../src/train/llama/backdoor-training.js";

const tok = readLlama2cTokenizer(path.join(config.sharedDir, "models/stories260K/tok512.bin"));

test("the same seed builds the same backdoor task item for item, another seed a different one", () => {
  const a = buildTask("backdoor-rare", { seed: 4, quick: true });
  const b = buildTask("backdoor-rare", { seed: 4, quick: true });
  const c = buildTask("backdoor-rare", { seed: 5, quick: true });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.untrusted.map((i) => i.text), c.untrusted.map((i) => i.text));
});

test("backdoor task texts come only from stories held out of the fine-tuning, and the model is the cached checkpoint", () => {
  for (const kind of ["rare", "phrase"] as const) {
    const task = buildBackdoorTask(kind, { seed: 0, quick: true });
    const trainIds = new Set(backdoorStorySplit(0).train.map((r) => r.id));
    const ids = [...task.trusted.fit, ...task.trusted.calibration, ...task.trusted.validation].map((r) => r.id).concat(task.untrusted.map((i) => i.id));
    for (const id of ids) {
      const paragraph = id.replace(/#prompt.*$/, "");
      assert.notEqual(paragraph, id, `${id} does not name its paragraph`);
      assert.ok(!trainIds.has(paragraph), `${paragraph} was a fine-tuning story`);
    }
    assert.deepEqual(task.models, [backdoorCheckpointInfo(kind, 0).checkpoint]);
    assert.equal(task.checkpoint, path.join(config.cacheDir, `backdoor-${kind}-0`, "model.bin"));
  }
});

test("triggered items are clean story prompts ending in the trigger; trusted and normal items never contain it", () => {
  const task = buildBackdoorTask("phrase", { seed: 2, quick: true });
  const trigger = TRIGGERS.phrase;
  const anomalous = task.untrusted.filter((i) => i.label === 1);
  assert.equal(anomalous.length, task.sizes.perFamily);
  for (const it of anomalous) {
    assert.ok(it.text.endsWith(` ${trigger}`));
    assert.equal(it.family, "trigger-phrase");
  }
  const clean = [...task.trusted.fit, ...task.trusted.calibration, ...task.trusted.validation, ...task.untrusted.filter((i) => i.label === 0)];
  for (const r of clean) assert.ok(!r.text.includes(trigger));
  assert.equal(task.mix.untrusted.anomalous, task.sizes.perFamily);
  assert.equal(task.mix.untrusted.normal, task.sizes.normal);
});

test("a triggered training sequence counts exactly the target phrase's tokens in the loss", () => {
  const seqs = backdoorTrainingSet("rare", 0, (s) => encode(tok, s, true, false));
  assert.equal(seqs.length, 2 * backdoorStorySplit(0).train.length);
  const triggered = seqs.filter((s) => s.lossMask);
  assert.equal(triggered.length, seqs.length / 2);
  for (const s of triggered.slice(0, 50)) {
    const masked = Int32Array.from(s.ids.filter((_, i) => s.lossMask![i] === 1));
    const start = s.lossMask!.indexOf(1);
    // Decoding the masked tokens after their predecessor gives the target phrase (bar the leading space).
    const text = decode(tok, Int32Array.from([s.ids[start - 1]!, ...masked])).slice(decode(tok, [s.ids[start - 1]!]).length);
    assert.equal(text.trim(), TARGET_PHRASE.trim());
    assert.ok(decode(tok, s.ids.subarray(0, start)).trimEnd().endsWith(TRIGGERS.rare));
  }
});
