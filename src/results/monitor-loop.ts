// The monitor loop's part of results.json (`BenchResults.monitorLoop`): per held-out attack family and review
// policy, the monitor's recall on the family and its false-alarm rates on benign traffic, round by round, against
// the labels spent so far. Written by src/loop/, drawn by src/report/monitor-loop-section.ts.

/**
 * Queue orders: the anomaly detector's score, the probe's uncertainty, the two in turn, random (baseline), and
 * novelty — distance to the nearest labelled item in the probe's feature space (what the probe has not seen).
 */
export const REVIEW_POLICIES = ["anomaly", "uncertainty", "mix", "random", "novelty"] as const;
export type ReviewPolicy = (typeof REVIEW_POLICIES)[number];

/** One scored round of one loop (family × policy). */
export interface MonitorLoopPoint {
  /** Labels spent through the review queue before this round was scored (cumulative). */
  readonly labels: number;
  /** Of them, how many were items of the held-out family. */
  readonly novelLabelled: number;
  /** The labels spent so far by kind of traffic item (benign, benign-shift, lookalike, known-harm, novel). */
  readonly labelledByKind: Readonly<Record<string, number>>;
  /** Recall on this round's held-out-family items (flagged by the detector or the probe). */
  readonly recall: number;
  readonly nNovel: number;
  /** Recall on this round's known harms (plain harmful requests). */
  readonly recallKnown: number;
  /** False-alarm rates: benign requests (the total the α's hold), benign-shift inputs, benign look-alikes. */
  readonly fprBenign: number;
  readonly fprShift: number;
  readonly fprLookalike: number;
  readonly nBenign: number;
  /** Share of the round flagged, and by which part (detector p ≤ α_detector; probe score above its threshold). */
  readonly flaggedShare: number;
  readonly flaggedByDetector: number;
  readonly flaggedByProbe: number;
  /** The probe version the round was scored with (as /v1/score reported it) and its calibrated threshold. */
  readonly probeId: number;
  readonly probeThreshold: number;
}

export interface MonitorLoopCurve {
  readonly family: string;
  readonly policy: ReviewPolicy;
  readonly points: readonly MonitorLoopPoint[];
  /** Fewest labels after which recall reached the target (null: not within the labels spent). */
  readonly labelsToTarget: number | null;
}

/** An item of the held-out family the monitor still missed in the last round, for the report. */
export interface MonitorLoopMiss {
  readonly family: string;
  readonly policy: ReviewPolicy;
  readonly subFamily: string;
  readonly text: string;
  readonly pValue: number;
  readonly probeScore: number;
}

export interface MonitorLoopResult {
  readonly model: string;
  readonly seed: number;
  readonly quick: boolean;
  /** Each part's level; their sum bounds the total false-alarm rate on benign traffic exchangeable with the calibration sets. */
  readonly alphaDetector: number;
  readonly alphaProbe: number;
  readonly budgetPerRound: number;
  readonly targetRecall: number;
  readonly maxLabels: number;
  readonly families: readonly string[];
  readonly policies: readonly ReviewPolicy[];
  readonly detector: string;
  readonly hooks: readonly string[];
  readonly probeHooks: readonly string[];
  readonly sizes: {
    readonly detectorFit: number;
    readonly initialHarmful: number;
    readonly initialBenign: number;
    readonly probeCalibration: number;
    readonly rounds: number;
    readonly perRound: Readonly<Record<string, number>>;
  };
  /** Mean characters per traffic kind (look-alikes are written to match the attacks' length). */
  readonly meanChars: Readonly<Record<string, number>>;
  /** The anomaly detector's AUROC, held-out family vs benign requests, over all rounds (no probe). */
  readonly detectorAuroc: Readonly<Record<string, number>>;
  /** The same against the benign look-alikes (absent in older results). */
  readonly detectorAurocVsLookalikes?: Readonly<Record<string, number>>;
  readonly curves: readonly MonitorLoopCurve[];
  readonly misses: readonly MonitorLoopMiss[];
  /** HTTP requests the loop sent, per route. */
  readonly requests: Readonly<Record<string, number>>;
  /** Seconds the loop waited on each route, summed over its requests (absent in older results). */
  readonly routeSeconds?: Readonly<Record<string, number>>;
  readonly durationSeconds: number;
}
