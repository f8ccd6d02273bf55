// The measurement-tampering task's part of results.json (issue 16): the vault model's accuracy, every method's
// real-vs-fake AUROC on all-positive untrusted test programs (overall, per tampering kind, and for the supervised
// tampering probe with each kind held out), the label-free headline, the control and the mechanism margin.

/** A value with its 95% interval (the shape of contract.ts's WithCi, restated so the two files do not import each other). */
export interface WithCi {
  readonly value: number;
  readonly lo: number;
  readonly hi: number;
}

export type TamperingMethodFamily = "detector" | "tampering-probe" | "ground-truth-probe" | "surface" | "control";

export interface TamperingRow {
  /** Detector name (`mahalanobis`, …), `tampering-probe`, `ground-truth-probe`, or a surface baseline's name. */
  readonly method: string;
  readonly family: TamperingMethodFamily;
  /** The model whose activations it read (`vault-trained`, `vault-untrained`); `text` for surface baselines. */
  readonly model: string;
  /** The hook it read; `text` for surface baselines. */
  readonly hook: string;
  /** Real (0) vs tampered (1) on the test split's all-positive programs. */
  readonly auroc: WithCi;
  readonly tprAt1Fpr: WithCi;
  /** AUROC of real positives vs one kind's tampered programs. */
  readonly perKind: Readonly<Record<string, WithCi>>;
  /**
   * Only the tampering probe: AUROC on each kind with that kind's disagreeing programs left out of the probe's
   * training (leave-one-kind-out).
   */
  readonly heldOutPerKind?: Readonly<Record<string, WithCi>>;
}

export interface TamperingHeadline {
  readonly method: string;
  readonly model: string;
  readonly hook: string;
  readonly criterion: string;
  readonly auroc: WithCi;
}

export interface TamperingSummary {
  readonly task: "measurement-tampering";
  readonly seed: number;
  readonly difficulty: number;
  readonly kinds: readonly string[];
  readonly model: {
    readonly name: string;
    readonly layers: number;
    readonly dim: number;
    readonly parameters: number;
    readonly trainSteps: number;
    readonly trainSeconds: number;
    readonly trainedNow: boolean;
    /** Held-out programs (never trained on) the accuracy was measured on. */
    readonly heldOutPrograms: number;
    readonly accuracy: Readonly<Record<string, number>>;
    readonly allThreeAccuracy: number;
  };
  readonly sizes: {
    readonly trustedFit: number;
    readonly trustedValidation: number;
    readonly realTest: number;
    readonly tamperedTest: Readonly<Record<string, number>>;
    readonly disagreeingForProbe: number;
  };
  readonly rows: readonly TamperingRow[];
  /** The unsupervised detector × hook chosen on the trained model without labels (the bench's label-free rule). */
  readonly headline: TamperingHeadline | null;
  /**
   * The oracle: the detector × hook with the highest AUROC on the labelled validation split (what the label-free
   * rule could at best find), reported on test.
   */
  readonly oracle: TamperingHeadline | null;
  /** The same label-free rule on the untrained copy. */
  readonly control: TamperingHeadline | null;
  readonly bestSurface: { readonly method: string; readonly auroc: WithCi; readonly reversed: boolean } | null;
  /** Headline test AUROC − max(best surface, control); null when no bar ran. */
  readonly mechanismMargin: number | null;
  /** The oracle's test AUROC − max(best surface, control). */
  readonly oracleMargin: number | null;
  readonly verdict: string;
  readonly notes: readonly string[];
}
