// benign-shift: the false-positive control. Same trusted set as jailbreak-ood (same seed → same items) and its
// untrusted normal + shift items only; every shift item is benign, so any flag on one is a false positive.
// The same items sit inside jailbreak-ood as group "shift", so one extraction serves both.

import { buildJailbreakOod } from "./jailbreak-ood.js";
import { type BuildTaskOptions, computeMix, type Task } from "./task.js";

export function buildBenignShift(options: BuildTaskOptions): Task {
  const full = buildJailbreakOod(options);
  const untrusted = full.untrusted.filter((it) => it.group !== "anomalous");
  return {
    ...full,
    name: "benign-shift",
    description:
      "Benign prompts unlike the trusted instructions (GSM8K, TruthfulQA, XSTest safe) next to held-out benign ones: report the false-positive rate at the trusted-calibrated threshold.",
    untrusted,
    mix: computeMix(full.trusted, untrusted),
  };
}
