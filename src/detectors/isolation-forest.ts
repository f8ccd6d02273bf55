// Isolation Forest (Liu, Ting & Zhou 2008): random axis-aligned trees grown on small subsamples; anomalies
// are isolated in few splits. Score s(x) = 2^(−E[h(x)]/c(ψ)), higher = more anomalous, where a leaf holding
// n training points adds c(n), the average depth of an unsuccessful binary-search-tree lookup among n.

import { z } from "zod";
import { MadkitError } from "../errors.js";
import type { Matrix } from "../linalg/matrix.js";
import { SeededRng } from "../random/seeded-rng.js";
import type { Contribution, DetectorSpec, Explanation, FittedDetector } from "./detector.js";
import { parseWith, saveEnvelope, tensorOf, type LoadedDetector } from "./envelope.js";
import { checkFitInput, checkScoreInput } from "./input-checks.js";

export const ISOLATION_FOREST = "isolation-forest";

const paramsSchema = z
  .object({
    trees: z.number().int().positive().default(100),
    /** Subsample size ψ per tree (capped at N). */
    maxSamples: z.number().int().min(2).default(256),
    seed: z.number().int().default(0),
  })
  .strict();

export type IsolationForestParams = z.infer<typeof paramsSchema>;

const EULER_GAMMA = 0.5772156649015329;

/** c(n): average path length of an unsuccessful search in a BST of n points (c(1) = 0, c(2) = 1). */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/** All trees in flat arrays; node i is a leaf when feature[i] < 0, else x[feature] <= threshold goes left. */
interface Forest {
  readonly roots: Int32Array;
  readonly feature: Int32Array;
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** Leaf: depth + c(points in leaf). */
  readonly value: Float64Array;
}

export class IsolationForestSpec implements DetectorSpec<IsolationForestParams> {
  readonly kind = ISOLATION_FOREST;
  readonly params: Readonly<IsolationForestParams>;
  constructor(params: Partial<IsolationForestParams> = {}) {
    const r = paramsSchema.safeParse(params);
    if (!r.success) {
      throw new MadkitError("BAD_ARGUMENT", `isolation-forest: ${r.error.issues[0]!.path.join(".")} ${r.error.issues[0]!.message}`);
    }
    this.params = r.data;
  }

  fit(trusted: Matrix): FittedIsolationForest {
    checkFitInput(trusted, ISOLATION_FOREST);
    const { trees, seed } = this.params;
    const psi = Math.min(this.params.maxSamples, trusted.rows);
    const grower = new ForestGrower(trusted, trees, psi, new SeededRng(seed));
    for (let t = 0; t < trees; t++) grower.growTree(t);
    return new FittedIsolationForest(this.params, trusted.cols, psi, trusted.rows, grower.finish());
  }
}

/**
 * Grows the trees one after another into flat arrays sized for the largest possible forest (a tree on ψ
 * points has at most 2ψ − 1 nodes). One seeded generator drives everything, in a fixed order per tree:
 * the subsample, then per node (depth first, left child first) the feature draws and the threshold.
 */
class ForestGrower {
  private readonly x: Matrix["data"];
  private readonly n: number;
  private readonly d: number;
  private readonly maxDepth: number;
  private readonly roots: Int32Array;
  private readonly feature: Int32Array;
  private readonly threshold: Float64Array;
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly value: Float64Array;
  private nodes = 0;
  /** A running permutation of the rows; its first ψ entries are the current tree's subsample. */
  private readonly perm: Int32Array;
  /** A running permutation of the features, for drawing them without replacement. */
  private readonly features: Int32Array;
  /** The current tree's rows, each node's rows a contiguous range [lo, hi). */
  private readonly idx: Int32Array;
  /** Explicit stack of (node, lo, hi, depth) so deep trees cannot overflow the JS call stack. */
  private readonly stack: Int32Array;
  /** The threshold `chooseSplit` drew along with the feature it returned. */
  private splitThreshold = 0;

  constructor(trusted: Matrix, trees: number, private readonly psi: number, private readonly rng: SeededRng) {
    this.x = trusted.data;
    this.n = trusted.rows;
    this.d = trusted.cols;
    this.maxDepth = Math.ceil(Math.log2(psi));
    const cap = trees * (2 * psi - 1);
    this.feature = new Int32Array(cap);
    this.threshold = new Float64Array(cap);
    this.left = new Int32Array(cap);
    this.right = new Int32Array(cap);
    this.value = new Float64Array(cap);
    this.roots = new Int32Array(trees);
    this.perm = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) this.perm[i] = i;
    this.features = new Int32Array(this.d);
    for (let j = 0; j < this.d; j++) this.features[j] = j;
    this.idx = new Int32Array(psi);
    this.stack = new Int32Array(4 * (2 * psi + 2));
  }

  /** Tree t on a fresh subsample: split nodes until they hold one row, reach the depth limit or cannot split. */
  growTree(t: number): void {
    const { stack, feature, value } = this;
    this.drawSubsample();
    this.roots[t] = this.nodes;
    let sp = 0;
    stack[sp++] = this.nodes++;
    stack[sp++] = 0;
    stack[sp++] = this.psi;
    stack[sp++] = 0;
    while (sp > 0) {
      const depth = stack[--sp]!;
      const hi = stack[--sp]!;
      const lo = stack[--sp]!;
      const node = stack[--sp]!;
      const size = hi - lo;
      const splitFeature = size > 1 && depth < this.maxDepth ? this.chooseSplit(lo, hi) : -1;
      if (splitFeature < 0) {
        feature[node] = -1;
        value[node] = depth + averagePathLength(size);
        continue;
      }
      const thr = this.splitThreshold;
      const a = this.partition(lo, hi, splitFeature, thr);
      feature[node] = splitFeature;
      this.threshold[node] = thr;
      const l = this.nodes++;
      const r = this.nodes++;
      this.left[node] = l;
      this.right[node] = r;
      stack[sp++] = l;
      stack[sp++] = lo;
      stack[sp++] = a;
      stack[sp++] = depth + 1;
      stack[sp++] = r;
      stack[sp++] = a;
      stack[sp++] = hi;
      stack[sp++] = depth + 1;
    }
  }

  /** ψ distinct rows into idx: a partial Fisher-Yates shuffle of the running permutation. */
  private drawSubsample(): void {
    const { perm, idx, rng, n } = this;
    for (let i = 0; i < this.psi; i++) {
      const j = i + rng.int(n - i);
      const tmp = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = tmp;
      idx[i] = perm[i]!;
    }
  }

  /**
   * Draw features without replacement until one varies within rows idx[lo, hi) (as scikit-learn does) and a
   * threshold uniformly between its min and max (left in `splitThreshold`); -1 when no feature varies.
   */
  private chooseSplit(lo: number, hi: number): number {
    const { x, d, idx, features, rng } = this;
    for (let tried = 0; tried < d; tried++) {
      const r = tried + rng.int(d - tried);
      const f = features[r]!;
      features[r] = features[tried]!;
      features[tried] = f;
      let mn = Infinity;
      let mx = -Infinity;
      for (let i = lo; i < hi; i++) {
        const v = x[idx[i]! * d + f]!;
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      if (mx > mn) {
        let thr = mn + rng.uniform() * (mx - mn);
        if (thr >= mx) thr = mn;
        this.splitThreshold = thr;
        return f;
      }
    }
    return -1;
  }

  /** Reorder idx[lo, hi) so rows with x[f] <= thr come first; returns where the rest begin. */
  private partition(lo: number, hi: number, f: number, thr: number): number {
    const { x, d, idx } = this;
    let a = lo;
    let b = hi - 1;
    while (a <= b) {
      if (x[idx[a]! * d + f]! <= thr) a++;
      else {
        const tmp = idx[a]!;
        idx[a] = idx[b]!;
        idx[b] = tmp;
        b--;
      }
    }
    return a;
  }

  /** The grown forest, its arrays cut to the nodes actually used. */
  finish(): Forest {
    const nodes = this.nodes;
    return {
      roots: this.roots,
      feature: this.feature.slice(0, nodes),
      threshold: this.threshold.slice(0, nodes),
      left: this.left.slice(0, nodes),
      right: this.right.slice(0, nodes),
      value: this.value.slice(0, nodes),
    };
  }
}

const stateSchema = z.object({ subsample: z.number().int().min(2) });

export class FittedIsolationForest implements FittedDetector<IsolationForestParams> {
  readonly kind = ISOLATION_FOREST;

  constructor(
    readonly params: Readonly<IsolationForestParams>,
    readonly dim: number,
    /** ψ actually used (maxSamples capped at N): the normaliser c(ψ). */
    readonly subsample: number,
    readonly nTrain: number,
    private readonly forest: Forest,
  ) {}

  score(x: Matrix): Float64Array {
    checkScoreInput(x, this.dim, ISOLATION_FOREST);
    const { roots, feature, threshold, left, right, value } = this.forest;
    const d = this.dim;
    const data = x.data;
    const out = new Float64Array(x.rows);
    const norm = averagePathLength(this.subsample) * roots.length;
    for (let i = 0; i < x.rows; i++) {
      const o = i * d;
      let total = 0;
      for (let t = 0; t < roots.length; t++) {
        let node = roots[t]!;
        let f = feature[node]!;
        while (f >= 0) {
          node = data[o + f]! <= threshold[node]! ? left[node]! : right[node]!;
          f = feature[node]!;
        }
        total += value[node]!;
      }
      out[i] = Math.pow(2, -total / norm);
    }
    return out;
  }

  /** Training points that reached each node, rebuilt from the leaves' c(n) terms (see nodeSizes). */
  private sizes: Float64Array | undefined;

  /**
   * Node sizes are not stored: a leaf's value is depth + c(n) with c increasing, so n is recovered by a binary
   * search over 1..ψ; an internal node holds its children's sum (children have larger indices than parents).
   */
  private nodeSizes(): Float64Array {
    if (this.sizes) return this.sizes;
    const { roots, feature, left, right, value } = this.forest;
    const m = feature.length;
    const depth = new Int32Array(m);
    const size = new Float64Array(m);
    for (const r of roots) depth[r] = 0;
    for (let i = 0; i < m; i++) {
      if (feature[i]! >= 0) {
        depth[left[i]!] = depth[i]! + 1;
        depth[right[i]!] = depth[i]! + 1;
      }
    }
    for (let i = m - 1; i >= 0; i--) {
      if (feature[i]! >= 0) {
        size[i] = size[left[i]!]! + size[right[i]!]!;
        continue;
      }
      const want = value[i]! - depth[i]!;
      let lo = 1;
      let hi = Math.max(1, this.subsample);
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (averagePathLength(mid) < want - 1e-9) lo = mid + 1;
        else hi = mid;
      }
      size[i] = lo;
    }
    this.sizes = size;
    return size;
  }

  /**
   * Which features isolated each row fastest. A split that sends the row from a node of n₁ training points to a
   * child of n₂ earns its feature log₂(n₁/n₂) bits: splits that cut the row off from most of the sample earn
   * much, ordinary splits about one bit. Per tree the bits add up to log₂(ψ / leaf size), so a feature's share
   * is its part of the row's isolation summed over trees; contribution = share x score (the parts add up to
   * the score).
   */
  explain(x: Matrix, top = 5): Explanation[] {
    const scores = this.score(x);
    const size = this.nodeSizes();
    const { roots, feature, threshold, left, right } = this.forest;
    const d = this.dim;
    const credit = new Float64Array(d);
    const out: Explanation[] = [];
    for (let i = 0; i < x.rows; i++) {
      credit.fill(0);
      const o = i * d;
      let total = 0;
      for (let t = 0; t < roots.length; t++) {
        let node = roots[t]!;
        let f = feature[node]!;
        while (f >= 0) {
          const next = x.data[o + f]! <= threshold[node]! ? left[node]! : right[node]!;
          const bits = Math.log2(size[node]! / size[next]!);
          credit[f]! += bits;
          total += bits;
          node = next;
          f = feature[node]!;
        }
      }
      const score = scores[i]!;
      const order = Array.from({ length: d }, (_, j) => j).sort((a, b) => credit[b]! - credit[a]! || a - b);
      const contributions: Contribution[] = order.slice(0, Math.max(0, Math.min(top, d))).map((j) => {
        const share = total > 0 ? credit[j]! / total : 0;
        return { kind: "feature", index: j, contribution: share * score, share };
      });
      out.push({ score, top: contributions });
    }
    return out;
  }

  save(dir: string): void {
    const f = this.forest;
    const m = f.feature.length;
    saveEnvelope(
      dir,
      { kind: ISOLATION_FOREST, params: this.params, state: { subsample: this.subsample }, dim: this.dim, nTrain: this.nTrain },
      {
        roots: { shape: [f.roots.length], data: f.roots },
        feature: { shape: [m], data: f.feature },
        threshold: { shape: [m], data: f.threshold },
        left: { shape: [m], data: f.left },
        right: { shape: [m], data: f.right },
        value: { shape: [m], data: f.value },
      },
    );
  }

  static restore(loaded: LoadedDetector): FittedIsolationForest {
    const params = parseWith(loaded, "params", paramsSchema);
    const { subsample } = parseWith(loaded, "state", stateSchema);
    const d = loaded.envelope.meta.dim;
    const forest: Forest = {
      roots: tensorOf(loaded, "roots", Int32Array),
      feature: tensorOf(loaded, "feature", Int32Array),
      threshold: tensorOf(loaded, "threshold", Float64Array),
      left: tensorOf(loaded, "left", Int32Array),
      right: tensorOf(loaded, "right", Int32Array),
      value: tensorOf(loaded, "value", Float64Array),
    };
    // Every link must point forward inside the arrays, so a corrupted file cannot make score() loop or crash.
    const m = forest.feature.length;
    const bad = (what: string) => new MadkitError("STORE_CORRUPT", `${loaded.dir}: isolation-forest ${what}`);
    if (forest.threshold.length !== m || forest.left.length !== m || forest.right.length !== m || forest.value.length !== m) {
      throw bad("node arrays have different lengths");
    }
    for (const r of forest.roots) if (r < 0 || r >= m) throw bad(`root ${r} is outside the ${m} nodes`);
    for (let i = 0; i < m; i++) {
      const f = forest.feature[i]!;
      if (f >= d) throw bad(`node ${i} splits on feature ${f}, the detector has ${d}`);
      if (f >= 0 && !(forest.left[i]! > i && forest.left[i]! < m && forest.right[i]! > i && forest.right[i]! < m)) {
        throw bad(`node ${i} has children outside (${i}, ${m})`);
      }
    }
    return new FittedIsolationForest(params, d, subsample, loaded.envelope.meta.nTrain, forest);
  }
}

export function isolationForest(params: Partial<IsolationForestParams> = {}): IsolationForestSpec {
  return new IsolationForestSpec(params);
}
