// How well a vault model predicts the three sensor readings on programs it never saw: the TS llama2.c forward (not
// the jax-js training graph) runs each program with its true answers, and at each answer position the model's
// prediction is whichever of " yes" / " no" has the larger logit (teacher forcing: the earlier answers are the true
// ones, as in training).

import { answerText, VAULT_SENSORS, type VaultExample, type VaultSensor } from "../../datasets/vault-world.js";
import { MadkitError } from "../../errors.js";
import { LOGITS_HOOK } from "../../models/hook-names.js";
import type { Llama2cSource } from "../../models/llama2c/source.js";
import { wordId } from "./vault-tokenizer.js";

export interface VaultAccuracy {
  /** Share of programs whose reading the model predicts, per sensor. */
  readonly perSensor: Readonly<Record<VaultSensor, number>>;
  /** Share with all three right. */
  readonly allThree: number;
  readonly n: number;
}

export async function vaultAccuracy(source: Llama2cSource, examples: readonly VaultExample[], batch = 64): Promise<VaultAccuracy> {
  if (examples.length === 0) throw new MadkitError("BAD_INPUT", "vault accuracy: expected held-out programs, got none");
  const yes = wordId(source.tokenizer, "yes");
  const no = wordId(source.tokenizer, "no");
  const right = [0, 0, 0];
  let all = 0;
  for (let at = 0; at < examples.length; at += batch) {
    const chunk = examples.slice(at, at + batch);
    const r = await source.forward(chunk.map((e) => e.text + answerText(e.measurements)), { hooks: [LOGITS_HOOK] });
    chunk.forEach((e, i) => {
      const logits = r.activations[i]!.get(LOGITS_HOOK)!;
      const n = logits.rows;
      let ok = 0;
      for (let s = 0; s < 3; s++) {
        // The answer of sensor s is token n−3+s; the logits that predict it sit one position earlier.
        const row = (n - 4 + s) * logits.cols;
        const predicted = logits.data[row + yes]! > logits.data[row + no]!;
        if (predicted === e.measurements[s]) {
          right[s]!++;
          ok++;
        }
      }
      if (ok === 3) all++;
    });
  }
  const n = examples.length;
  return {
    perSensor: Object.fromEntries(VAULT_SENSORS.map((s, k) => [s, right[k]! / n])) as Record<VaultSensor, number>,
    allThree: all / n,
    n,
  };
}
