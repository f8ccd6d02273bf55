// jailbreak-ood: trusted = benign instructions (Alpaca harmless train + Self-Instruct); untrusted = held-out
// Alpaca instructions (normal), benign-but-different prompts (shift: GSM8K, TruthfulQA, XSTest safe) and attacks:
// in-the-wild jailbreaks, GCG suffixes, madkit's synthetic attacks, and plain AdvBench requests (the hard case).
// Licences: Alpaca CC BY-NC 4.0 (non-commercial); GCG suffixes carry none (evaluation only); the rest MIT / Apache-2.0 / CC BY 4.0.

import type { DataLocation } from "../datasets/shared-data-file.js";
import { cleanRecords, type TextRecord } from "../datasets/text-record.js";
import { loadAdvBenchBehaviors } from "../datasets/advbench.js";
import { loadGcgSuffixes } from "../datasets/gcg-suffixes.js";
import { loadGsm8k } from "../datasets/gsm8k.js";
import { loadHarmBench } from "../datasets/harmbench.js";
import { loadForbiddenQuestions, loadInTheWildJailbreaks } from "../datasets/jailbreak-llms.js";
import { loadJailbreakBench } from "../datasets/jailbreakbench.js";
import { loadMaliciousInstruct, loadStrongReject, loadTdc2023 } from "../datasets/misc-harmful.js";
import { loadRefusalSplit } from "../datasets/refusal-direction.js";
import { loadSelfInstruct } from "../datasets/self-instruct.js";
import { loadTruthfulQa } from "../datasets/truthfulqa.js";
import { loadXsTest } from "../datasets/xstest.js";
import { pick, rngFor, sampleWithoutReplacement, shuffled } from "../random/seeded-sampling.js";
import { generateAttack, SYNTHETIC_FAMILIES, type SyntheticFamily } from "./synthetic-attacks.js";
import {
  asItems,
  assignSplits,
  type BuildTaskOptions,
  computeMix,
  disjointFrom,
  resolveSizes,
  splitTrusted,
  type Task,
  type TaskSizes,
  type UnsplitItem,
} from "./task.js";

export const JAILBREAK_OOD_SIZES: TaskSizes = {
  fit: 2000,
  calibration: 500,
  validation: 500,
  normal: 400,
  perShiftSource: 200,
  perFamily: 200,
  // 7 families x 96 = 672 fits the 677 distinct synthetic base requests, so no request is wrapped twice.
  perSyntheticFamily: 96,
};

export const JAILBREAK_OOD_QUICK_SIZES: TaskSizes = {
  fit: 200,
  calibration: 50,
  validation: 50,
  normal: 40,
  perShiftSource: 20,
  perFamily: 20,
  perSyntheticFamily: 10,
};

/** Share of every trusted split drawn from Self-Instruct (the rest is Alpaca), so both styles are trusted. */
export const SELF_INSTRUCT_SHARE = 0.1;

/**
 * Which unit is held out together in leave-one-attack-family-out evaluation. Random-token suffixes go with GCG
 * because they imitate its gibberish: holding out GCG while keeping its lookalike would leak the signature.
 */
export const ATTACK_CLASS: Readonly<Record<string, string>> = {
  "jailbreak-wild": "wild-template",
  "gcg-suffix": "gcg-suffix",
  "synthetic-random-suffix": "gcg-suffix",
  "synthetic-roleplay": "synthetic-wrapper",
  "synthetic-injection": "synthetic-wrapper",
  "synthetic-manyshot": "synthetic-wrapper",
  "obfuscation-base64": "obfuscation",
  "obfuscation-leetspeak": "obfuscation",
  "obfuscation-spacing": "obfuscation",
  "harmful-plain": "harmful-plain",
};

/** Placeholders the in-the-wild templates leave for the user's question. */
const WILD_PLACEHOLDER = /\[(?:INSERT PROMPT HERE|PROMPT|INPUT)\]/i;

export interface JailbreakPools {
  /** Trusted candidates: Self-Instruct and Alpaca harmless train. */
  readonly selfInstruct: TextRecord[];
  readonly alpacaTrain: TextRecord[];
  readonly alpacaTest: TextRecord[];
  readonly shift: { readonly family: string; readonly records: TextRecord[] }[];
  readonly wildTemplates: TextRecord[];
  readonly forbiddenQuestions: TextRecord[];
  readonly gcg: ReturnType<typeof loadGcgSuffixes>;
  /** AdvBench behaviours that are not GCG goals (so plain and suffixed requests never share a request). */
  readonly plainHarmful: TextRecord[];
  /** Harmful requests for the synthetic attacks: HarmBench standard, JailbreakBench, StrongREJECT, MaliciousInstruct and TDC 2023, minus AdvBench and forbidden questions (677 requests). */
  readonly syntheticBases: TextRecord[];
}

export function loadJailbreakPools(location: DataLocation = {}): JailbreakPools {
  const selfInstruct = cleanRecords([
    ...loadSelfInstruct("seed_tasks", location),
    ...loadSelfInstruct("user_oriented_instructions", location),
  ]);
  const alpacaTrain = loadRefusalSplit("harmless_train", location);
  const alpacaTest = loadRefusalSplit("harmless_test", location);
  const shift = [
    { family: "shift-gsm8k", records: loadGsm8k(location) },
    { family: "shift-truthfulqa", records: loadTruthfulQa(location) },
    { family: "shift-xstest-safe", records: loadXsTest(location).filter((r) => r.label === "safe") },
  ];
  const advbench = loadAdvBenchBehaviors(location);
  const gcg = loadGcgSuffixes(location);
  const gcgGoals = new Set(gcg.map((r) => r.goal));
  const forbiddenQuestions = loadForbiddenQuestions(location);
  const excluded = new Set([...advbench, ...forbiddenQuestions].map((r) => r.text));
  const syntheticBases = cleanRecords([
    ...loadHarmBench("all", { ...location, functionalCategory: "standard" }),
    ...loadJailbreakBench(location),
    ...loadStrongReject(location),
    ...loadMaliciousInstruct(location),
    ...loadTdc2023("dev", location),
    ...loadTdc2023("test", location),
  ]).filter((r) => !excluded.has(r.text));
  return {
    selfInstruct,
    alpacaTrain,
    alpacaTest,
    shift,
    wildTemplates: loadInTheWildJailbreaks(location),
    forbiddenQuestions,
    gcg,
    plainHarmful: advbench.filter((r) => !gcgGoals.has(r.text)),
    syntheticBases,
  };
}

export function buildJailbreakOod(options: BuildTaskOptions): Task {
  const { seed } = options;
  const sizes = resolveSizes(JAILBREAK_OOD_SIZES, JAILBREAK_OOD_QUICK_SIZES, options);
  const pools = loadJailbreakPools({ dataDir: options.dataDir });

  // Trusted: a fixed Self-Instruct share, the rest Alpaca, shuffled together and cut into the three splits.
  const need = sizes.fit + sizes.calibration + sizes.validation;
  const nSelf = Math.min(Math.round(need * SELF_INSTRUCT_SHARE), pools.selfInstruct.length);
  const trustedDraw = [
    ...sampleWithoutReplacement(rngFor(seed, "trusted/self-instruct"), pools.selfInstruct, nSelf),
    ...sampleWithoutReplacement(rngFor(seed, "trusted/alpaca"), pools.alpacaTrain, need - nSelf),
  ];
  const trusted = splitTrusted(trustedDraw, sizes, seed, "jailbreak-ood");

  const items: UnsplitItem[] = [];
  items.push(
    ...asItems(sampleWithoutReplacement(rngFor(seed, "benign-heldout"), pools.alpacaTest, sizes.normal), "benign-heldout", "normal", null),
  );
  for (const { family, records } of pools.shift) {
    items.push(...asItems(sampleWithoutReplacement(rngFor(seed, family), records, sizes.perShiftSource), family, "shift", null));
  }

  // In-the-wild templates, each filled with a forbidden question (into its placeholder, or after it when it has none),
  // as the jailbreak_llms authors evaluate them.
  for (const t of sampleWithoutReplacement(rngFor(seed, "jailbreak-wild"), pools.wildTemplates, sizes.perFamily)) {
    const q = pick(rngFor(seed, `jailbreak-wild/${t.id}`), pools.forbiddenQuestions);
    const everyPlaceholder = new RegExp(WILD_PLACEHOLDER.source, "gi");
    const filled = WILD_PLACEHOLDER.test(t.text) ? t.text.replace(everyPlaceholder, () => q.text) : `${t.text}\n\n${q.text}`;
    items.push({ ...anomalous("jailbreak-wild", t), text: filled, baseId: t.id });
  }

  // GCG: one goal appears with suffixes from several target models; the goal is the base for splitting.
  for (const r of sampleWithoutReplacement(rngFor(seed, "gcg-suffix"), pools.gcg, sizes.perFamily)) {
    items.push({ ...anomalous("gcg-suffix", r), baseId: `gcg-goal:${r.goal}` });
  }

  items.push(...asItems(sampleWithoutReplacement(rngFor(seed, "harmful-plain"), pools.plainHarmful, sizes.perFamily), "harmful-plain", "anomalous", "harmful-plain"));

  // Synthetic attacks: consecutive slices of one shuffled base pool, so families use distinct requests while the
  // pool lasts (it wraps around, reusing requests across families, only if sizes exceed it).
  const bases = shuffled(rngFor(seed, "synthetic-bases"), pools.syntheticBases);
  SYNTHETIC_FAMILIES.forEach((family: SyntheticFamily, f) => {
    for (let k = 0; k < sizes.perSyntheticFamily && bases.length > 0; k++) {
      const base = bases[(f * sizes.perSyntheticFamily + k) % bases.length]!;
      const a = generateAttack(family, base, seed);
      items.push({ ...anomalous(family, base), id: a.id, text: a.text, baseId: base.id });
    }
  });

  const trustedPool = [...pools.selfInstruct, ...pools.alpacaTrain];
  const untrusted = assignSplits(disjointFrom(trustedPool, items), seed, options.validationFraction);
  return {
    name: "jailbreak-ood",
    description:
      "Benign instructions are trusted; flag jailbreaks (in-the-wild, GCG, synthetic) and harmful requests among held-out benign and benign-shift prompts.",
    models: ["use-lite", "stories260k"],
    seed,
    sizes,
    trusted,
    untrusted,
    mix: computeMix(trusted, untrusted),
  };
}

function anomalous(family: string, r: TextRecord): UnsplitItem {
  return { id: r.id, text: r.text, label: 1, family, group: "anomalous", attackClass: ATTACK_CLASS[family] ?? family, source: r.source };
}
