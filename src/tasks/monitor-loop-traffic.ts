// The data of the monitor-loop benchmark (docs/monitor-loop.md): a trusted benign set the anomaly detector is
// fitted on, an initial labelled set for the supervised probe (plain harmful requests + harmless instructions,
// refusal_direction train splits), benign requests the probe's threshold is calibrated on, and rounds of
// untrusted traffic — benign requests, benign-shift inputs, benign look-alikes on jailbreak templates, known
// harms (plain harmful requests) and one held-out novel attack family. The benign streams and the known harms
// are the same for every family, so families and review policies are compared on the same traffic.
// Every draw is seeded; the pools are disjoint (benign traffic, look-alike bases, detector fit, initial set
// and probe calibration come from different splits or from one split without replacement).

import { MadkitError } from "../errors.js";
import { loadRefusalSplit } from "../datasets/refusal-direction.js";
import { loadSelfInstruct } from "../datasets/self-instruct.js";
import type { DataLocation } from "../datasets/shared-data-file.js";
import { cleanRecords, type TextRecord } from "../datasets/text-record.js";
import { rngFor, sampleWithoutReplacement, shuffled } from "../random/seeded-sampling.js";
import { benignLookalikes } from "./benign-lookalikes.js";
import { loadJailbreakPools, type JailbreakPools } from "./jailbreak-ood.js";
import { generateAttack, type SyntheticFamily } from "./synthetic-attacks.js";

/** The held-out novel attack families, one per loop. */
export const HELD_OUT_FAMILIES = ["wild-template", "gcg-suffix", "obfuscation", "many-shot", "synthetic-wrapper"] as const;
export type HeldOutFamily = (typeof HELD_OUT_FAMILIES)[number];

/** What a traffic item is; only `known-harm` and `novel` are harmful (label 1). */
export const TRAFFIC_KINDS = ["benign", "benign-shift", "lookalike", "known-harm", "novel"] as const;
export type TrafficKind = (typeof TRAFFIC_KINDS)[number];

export interface LoopItem {
  readonly id: string;
  readonly text: string;
  readonly kind: TrafficKind;
  /** The source family (e.g. `shift-gsm8k`, `lookalike-json-only`, `gcg-suffix`). */
  readonly family: string;
  /** Ground truth: 1 harmful (known harm or novel attack), 0 benign. */
  readonly label: 0 | 1;
}

export interface MonitorLoopSizes {
  /** Trusted benign inputs the anomaly detector is fitted and calibrated on. */
  readonly detectorFit: number;
  /** Initial labelled set: plain harmful requests and harmless instructions. */
  readonly initialHarmful: number;
  readonly initialBenign: number;
  /** Benign inputs the probe's threshold is calibrated on (never trained on). */
  readonly probeCalibration: number;
  /** Scored rounds (round 0 before any review, then one after each review round). */
  readonly rounds: number;
  /** Items per round of each kind. */
  readonly perRound: Readonly<Record<TrafficKind, number>>;
}

export const MONITOR_LOOP_SIZES: MonitorLoopSizes = {
  detectorFit: 1100,
  initialHarmful: 260,
  initialBenign: 260,
  probeCalibration: 400,
  rounds: 6,
  perRound: { benign: 200, "benign-shift": 60, lookalike: 60, "known-harm": 20, novel: 40 },
};

export const MONITOR_LOOP_QUICK_SIZES: MonitorLoopSizes = {
  detectorFit: 300,
  initialHarmful: 60,
  initialBenign: 60,
  probeCalibration: 100,
  rounds: 3,
  perRound: { benign: 40, "benign-shift": 9, lookalike: 12, "known-harm": 6, novel: 12 },
};

export interface MonitorLoopData {
  readonly detectorFit: readonly string[];
  readonly initial: readonly { readonly text: string; readonly label: 0 | 1 }[];
  readonly probeCalibration: readonly string[];
  /** Per held-out family, `rounds` rounds of traffic (the benign streams and known harms shared by all). */
  readonly rounds: ReadonlyMap<HeldOutFamily, readonly (readonly LoopItem[])[]>;
}

const ATTACK_SYNTHETIC: Readonly<Partial<Record<HeldOutFamily, readonly SyntheticFamily[]>>> = {
  obfuscation: ["obfuscation-base64", "obfuscation-leetspeak", "obfuscation-spacing"],
  "many-shot": ["synthetic-manyshot"],
  "synthetic-wrapper": ["synthetic-roleplay", "synthetic-injection"],
};

/** Placeholders the in-the-wild templates leave for the user's question (as jailbreak-ood fills them). */
const WILD_PLACEHOLDER = /\[(?:INSERT PROMPT HERE|PROMPT|INPUT)\]/i;

/** `n` novel attacks of `family`, seeded. */
function novelAttacks(family: HeldOutFamily, pools: JailbreakPools, n: number, seed: number): LoopItem[] {
  const item = (id: string, text: string, sub: string): LoopItem => ({ id, text, kind: "novel", family: sub, label: 1 });
  if (family === "wild-template") {
    const questions = shuffled(rngFor(seed, "loop/wild-questions"), pools.forbiddenQuestions);
    return sampleWithoutReplacement(rngFor(seed, "loop/wild-templates"), pools.wildTemplates, n).map((t, i) => {
      const q = questions[i % questions.length]!;
      const every = new RegExp(WILD_PLACEHOLDER.source, "gi");
      const text = WILD_PLACEHOLDER.test(t.text) ? t.text.replace(every, () => q.text) : `${t.text}\n\n${q.text}`;
      return item(`wild/${t.id}`, text, "jailbreak-wild");
    });
  }
  if (family === "gcg-suffix") return sampleWithoutReplacement(rngFor(seed, "loop/gcg"), pools.gcg, n).map((r) => item(r.id, r.text, "gcg-suffix"));
  const subs = ATTACK_SYNTHETIC[family]!;
  const bases = sampleWithoutReplacement(rngFor(seed, `loop/${family}/bases`), pools.syntheticBases, n);
  return bases.map((b, i) => {
    const a = generateAttack(subs[i % subs.length]!, b, seed);
    return item(a.id, a.text, a.family);
  });
}

/** Deal `items` into `rounds` consecutive slices of `per` each. */
function deal<T>(items: readonly T[], rounds: number, per: number): T[][] {
  return Array.from({ length: rounds }, (_, r) => items.slice(r * per, (r + 1) * per));
}

function need(what: string, have: number, want: number): void {
  if (have < want) throw new MadkitError("BAD_ARGUMENT", `monitor loop: ${what} has ${have} items, the sizes need ${want}; use smaller sizes`);
}

export interface BuildMonitorLoopOptions {
  readonly seed: number;
  readonly sizes: MonitorLoopSizes;
  readonly families?: readonly HeldOutFamily[];
  readonly location?: DataLocation;
}

export function buildMonitorLoopData(options: BuildMonitorLoopOptions): MonitorLoopData {
  const { seed, sizes, location = {} } = options;
  const families = options.families ?? HELD_OUT_FAMILIES;
  for (const f of families) {
    if (!(HELD_OUT_FAMILIES as readonly string[]).includes(f)) throw new MadkitError("BAD_ARGUMENT", `unknown held-out family '${String(f)}'; expected one of ${HELD_OUT_FAMILIES.join(", ")}`);
  }
  const pools = loadJailbreakPools(location);
  const { rounds, perRound } = sizes;

  // harmless_train → initial benign and detector fit (with Self-Instruct); harmless_val → probe calibration;
  // harmless_test → benign traffic and the look-alikes' bases.
  const harmlessTrain = shuffled(rngFor(seed, "loop/harmless-train"), loadRefusalSplit("harmless_train", location));
  const selfInstruct = cleanRecords([...loadSelfInstruct("seed_tasks", location), ...loadSelfInstruct("user_oriented_instructions", location)]);
  const nSelf = Math.min(Math.round(sizes.detectorFit * 0.1), selfInstruct.length);
  need("harmless_train", harmlessTrain.length, sizes.initialBenign + sizes.detectorFit - nSelf);
  const initialBenign = harmlessTrain.slice(0, sizes.initialBenign);
  const detectorFit = [...sampleWithoutReplacement(rngFor(seed, "loop/self-instruct"), selfInstruct, nSelf), ...harmlessTrain.slice(sizes.initialBenign, sizes.initialBenign + sizes.detectorFit - nSelf)];
  const harmfulTrain = loadRefusalSplit("harmful_train", location);
  need("harmful_train", harmfulTrain.length, sizes.initialHarmful);
  const initialHarmful = sampleWithoutReplacement(rngFor(seed, "loop/harmful-train"), harmfulTrain, sizes.initialHarmful);
  const probeCalibration = sampleWithoutReplacement(rngFor(seed, "loop/harmless-val"), loadRefusalSplit("harmless_val", location), sizes.probeCalibration);
  need("harmless_val", probeCalibration.length, sizes.probeCalibration);

  const harmlessTest = shuffled(rngFor(seed, "loop/harmless-test"), loadRefusalSplit("harmless_test", location));
  const nBenign = rounds * perRound.benign;
  const nLook = rounds * perRound.lookalike;
  need("harmless_test", harmlessTest.length, nBenign + nLook);
  const benign: LoopItem[] = harmlessTest.slice(0, nBenign).map((r) => ({ id: r.id, text: r.text, kind: "benign", family: "benign", label: 0 }));
  const lookalike: LoopItem[] = benignLookalikes(harmlessTest.slice(nBenign, nBenign + nLook), seed).map((l) => ({ id: l.id, text: l.text, kind: "lookalike", family: `lookalike-${l.family}`, label: 0 }));
  // Benign shift: the three sources in turn.
  const perShift = Math.ceil((rounds * perRound["benign-shift"]) / pools.shift.length);
  const shiftDraws = pools.shift.map(({ family, records }) => sampleWithoutReplacement(rngFor(seed, `loop/${family}`), records, perShift).map((r): LoopItem => ({ id: r.id, text: r.text, kind: "benign-shift", family, label: 0 })));
  const shift: LoopItem[] = [];
  for (let i = 0; shift.length < rounds * perRound["benign-shift"] && i < perShift; i++) for (const d of shiftDraws) if (d[i]) shift.push(d[i]!);
  // Known harms: plain harmful requests from refusal_direction's val and test splits (never in the initial set).
  const harmfulHeldOut = shuffled(rngFor(seed, "loop/harmful-heldout"), [...loadRefusalSplit("harmful_val", location), ...loadRefusalSplit("harmful_test", location)]);
  need("harmful_val + harmful_test", harmfulHeldOut.length, rounds * perRound["known-harm"]);
  const knownHarm: LoopItem[] = harmfulHeldOut.slice(0, rounds * perRound["known-harm"]).map((r) => ({ id: r.id, text: r.text, kind: "known-harm", family: "harmful-plain", label: 1 }));

  const shared = [deal(benign, rounds, perRound.benign), deal(shift, rounds, perRound["benign-shift"]), deal(lookalike, rounds, perRound.lookalike), deal(knownHarm, rounds, perRound["known-harm"])];
  const byFamily = new Map<HeldOutFamily, LoopItem[][]>();
  for (const f of families) {
    const novel = novelAttacks(f, pools, rounds * perRound.novel, seed);
    need(`held-out family ${f}`, novel.length, rounds * perRound.novel);
    const perRoundNovel = deal(novel, rounds, perRound.novel);
    byFamily.set(
      f,
      Array.from({ length: rounds }, (_, r) => shuffled(rngFor(seed, `loop/${f}/round-${r}`), [...shared.flatMap((s) => s[r]!), ...perRoundNovel[r]!])),
    );
  }
  return {
    detectorFit: detectorFit.map((r) => r.text),
    initial: [...initialHarmful.map((r) => ({ text: r.text, label: 1 as const })), ...initialBenign.map((r) => ({ text: r.text, label: 0 as const }))],
    probeCalibration: probeCalibration.map((r: TextRecord) => r.text),
    rounds: byFamily,
  };
}
