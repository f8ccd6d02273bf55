// The vault model the measurement-tampering task reads, at its full length and the bench's seed: trained into
// config.cacheDir when missing (as a fresh clone does, a few minutes on 2 cores; `npm run main` then reuses it), then
// measured by the TypeScript llama2.c forward — not the training graph — on held-out programs it never trained on.

import assert from "node:assert/strict";
import { test } from "node:test";
import { generateVault, VAULT_SENSORS } from "../../../src/datasets/vault-world.js";
import { readLlama2cCheckpoint } from "../../../src/models/llama2c/checkpoint.js";
import { llama2cSourceFromParts } from "../../../src/models/llama2c/source.js";
import { readLlama2cTokenizer } from "../../../src/models/llama2c/tokenizer.js";
import { vaultAccuracy } from "../../../src/train/llama/vault-accuracy.js";
import { ensureVaultModel, VAULT_HELDOUT_DRAWS } from "../../../src/train/llama/vault-model.js";

const O = { seed: 1, difficulty: 2 };

test("the full-length vault model predicts each sensor with ≥ 95% accuracy on held-out programs", { timeout: 900_000 }, async () => {
  const info = ensureVaultModel(O);
  const source = llama2cSourceFromParts(readLlama2cCheckpoint(info.checkpoint), readLlama2cTokenizer(info.tokenizer), "vault-trained");
  const heldOut = generateVault(O, "heldout", VAULT_HELDOUT_DRAWS, info.trainTexts);
  for (const e of heldOut) assert.ok(!info.trainTexts.has(e.text), "held-out programs are never trained on");
  const acc = await vaultAccuracy(source, heldOut);
  for (const s of VAULT_SENSORS) assert.ok(acc.perSensor[s] >= 0.95, `${s}: ${acc.perSensor[s]}`);
});
