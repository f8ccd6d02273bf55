// Threshold-free metrics of a score vector against binary labels (1 = anomalous, higher score = more
// anomalous): AUROC with tie correction, average precision (scikit-learn's AUPRC), FPR at a TPR and TPR at
// an FPR, and the ROC curve itself for plots. All O(n log n) over flat arrays.

import { MadkitError } from "../errors.js";

export type Labels = ArrayLike<number | boolean>;

interface Counts {
  pos: number;
  neg: number;
}

function check(scores: ArrayLike<number>, labels: Labels): Counts {
  if (scores.length !== labels.length) {
    throw new MadkitError("DIMENSION_MISMATCH", `got ${scores.length} scores but ${labels.length} labels`);
  }
  let pos = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i]!)) throw new MadkitError("NON_FINITE", `score ${i} is ${scores[i]}, expected a finite number`);
    if (labels[i]) pos++;
  }
  const neg = scores.length - pos;
  if (pos === 0 || neg === 0) {
    throw new MadkitError("BAD_INPUT", `ranking metrics need both classes; got ${pos} anomalous and ${neg} normal`);
  }
  return { pos, neg };
}

/** Indices sorted by descending score. */
function descendingOrder(scores: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(scores.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  return order.sort((a, b) => scores[b]! - scores[a]!);
}

/** Area under the ROC curve = P(score_anomalous > score_normal) + 0.5 P(tie) (Mann-Whitney U). */
export function auroc(scores: ArrayLike<number>, labels: Labels): number {
  const { pos, neg } = check(scores, labels);
  const order = descendingOrder(scores);
  // Walk groups of tied scores from the top; each normal in a group is beaten by all positives above the
  // group and half-beaten by the positives inside it.
  let posAbove = 0;
  let u = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    let p = 0;
    let n = 0;
    const s = scores[order[i]!]!;
    while (j < order.length && scores[order[j]!]! === s) {
      if (labels[order[j]!]) p++;
      else n++;
      j++;
    }
    u += n * (posAbove + 0.5 * p);
    posAbove += p;
    i = j;
  }
  return u / (pos * neg);
}

export interface RocCurve {
  /** Points from (0,0) to (1,1), one per distinct threshold. */
  readonly fpr: Float64Array;
  readonly tpr: Float64Array;
  /** Threshold at each point: flag when score >= threshold (Infinity at the origin). */
  readonly thresholds: Float64Array;
}

export function rocCurve(scores: ArrayLike<number>, labels: Labels): RocCurve {
  const { pos, neg } = check(scores, labels);
  const order = descendingOrder(scores);
  const fpr = [0];
  const tpr = [0];
  const thr = [Infinity];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length; ) {
    const s = scores[order[i]!]!;
    while (i < order.length && scores[order[i]!]! === s) {
      if (labels[order[i]!]) tp++;
      else fp++;
      i++;
    }
    fpr.push(fp / neg);
    tpr.push(tp / pos);
    thr.push(s);
  }
  return { fpr: Float64Array.from(fpr), tpr: Float64Array.from(tpr), thresholds: Float64Array.from(thr) };
}

/** Average precision, Σ (R_k − R_{k−1}) P_k over distinct thresholds — scikit-learn's average_precision_score. */
export function averagePrecision(scores: ArrayLike<number>, labels: Labels): number {
  const { pos } = check(scores, labels);
  const order = descendingOrder(scores);
  let tp = 0;
  let seen = 0;
  let prevRecall = 0;
  let ap = 0;
  for (let i = 0; i < order.length; ) {
    const s = scores[order[i]!]!;
    while (i < order.length && scores[order[i]!]! === s) {
      if (labels[order[i]!]) tp++;
      seen++;
      i++;
    }
    const recall = tp / pos;
    ap += (recall - prevRecall) * (tp / seen);
    prevRecall = recall;
  }
  return ap;
}

/** Lowest FPR among thresholds reaching at least `tpr` (0.95 → the usual FPR@95TPR). */
export function fprAtTpr(scores: ArrayLike<number>, labels: Labels, tpr = 0.95): number {
  const roc = rocCurve(scores, labels);
  for (let i = 0; i < roc.tpr.length; i++) if (roc.tpr[i]! >= tpr - 1e-12) return roc.fpr[i]!;
  return 1;
}

/** Highest TPR among thresholds whose FPR stays at or below `fpr` (0.01 → TPR at 1% FPR). */
export function tprAtFpr(scores: ArrayLike<number>, labels: Labels, fpr = 0.01): number {
  const roc = rocCurve(scores, labels);
  let best = 0;
  for (let i = 0; i < roc.fpr.length; i++) if (roc.fpr[i]! <= fpr + 1e-12) best = Math.max(best, roc.tpr[i]!);
  return best;
}

/**
 * P(first-sample score > second-sample score) + ½ P(tie): the Mann-Whitney AUROC of two unlabelled samples (the
 * label-free selection's pool against trusted inputs). Unlike `auroc`, infinite scores are allowed (a fail-closed
 * +Infinity outranks everything); NaN when either sample holds NaN or is empty.
 */
export function twoSampleAuroc(pool: ArrayLike<number>, trusted: ArrayLike<number>): number {
  const n1 = pool.length;
  const n0 = trusted.length;
  if (n1 === 0 || n0 === 0) return NaN;
  const all = new Float64Array(n1 + n0);
  for (let i = 0; i < n1; i++) all[i] = pool[i]!;
  for (let i = 0; i < n0; i++) all[n1 + i] = trusted[i]!;
  if (all.some((v) => Number.isNaN(v))) return NaN;
  const order = Uint32Array.from({ length: all.length }, (_, i) => i).sort((a, b) => (all[a]! < all[b]! ? -1 : all[a]! > all[b]! ? 1 : 0));
  // Sum of the pool's mid-ranks (ties share the average rank), then U = R1 − n1(n1 + 1)/2.
  let rankSum = 0;
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && all[order[j + 1]!]! === all[order[i]!]!) j++;
    const mid = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (order[k]! < n1) rankSum += mid;
    i = j + 1;
  }
  return (rankSum - (n1 * (n1 + 1)) / 2) / (n1 * n0);
}
