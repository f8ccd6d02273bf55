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
    const n = trusted.rows;
    const d = trusted.cols;
    const x = trusted.data;
    const psi = Math.min(this.params.maxSamples, n);
    const maxDepth = Math.ceil(Math.log2(psi));
    const rng = new SeededRng(seed);
    const cap = trees * (2 * psi - 1);
    const feature = new Int32Array(cap);
    const threshold = new Float64Array(cap);
    const left = new Int32Array(cap);
    const right = new Int32Array(cap);
    const value = new Float64Array(cap);
    const roots = new Int32Array(trees);
    let nodes = 0;
    const perm = new Int32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    const features = new Int32Array(d);
    for (let j = 0; j < d; j++) features[j] = j;
    const idx = new Int32Array(psi);
    // Explicit stack of (node, lo, hi, depth) so deep trees cannot overflow the JS call stack.
    const stack = new Int32Array(4 * (2 * psi + 2));
    for (let t = 0; t < trees; t++) {
      // ψ distinct rows: a partial Fisher-Yates shuffle of the running permutation.
      for (let i = 0; i < psi; i++) {
        const j = i + rng.int(n - i);
        const tmp = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = tmp;
        idx[i] = perm[i]!;
      }
      roots[t] = nodes;
      let sp = 0;
      stack[sp++] = nodes++;
      stack[sp++] = 0;
      stack[sp++] = psi;
      stack[sp++] = 0;
      while (sp > 0) {
        const depth = stack[--sp]!;
        const hi = stack[--sp]!;
        const lo = stack[--sp]!;
        const node = stack[--sp]!;
        const size = hi - lo;
        let splitFeature = -1;
        let thr = 0;
        if (size > 1 && depth < maxDepth) {
          // Draw features without replacement until one varies within this node (as scikit-learn does).
          for (let tried = 0; tried < d && splitFeature < 0; tried++) {
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
              splitFeature = f;
              thr = mn + rng.uniform() * (mx - mn);
              if (thr >= mx) thr = mn;
            }
          }
        }
        if (splitFeature < 0) {
          feature[node] = -1;
          value[node] = depth + averagePathLength(size);
          continue;
        }
        // Partition idx[lo, hi) so rows with x[f] <= thr come first.
        let a = lo;
        let b = hi - 1;
        while (a <= b) {
          if (x[idx[a]! * d + splitFeature]! <= thr) a++;
          else {
            const tmp = idx[a]!;
            idx[a] = idx[b]!;
            idx[b] = tmp;
            b--;
          }
        }
        feature[node] = splitFeature;
        threshold[node] = thr;
        const l = nodes++;
        const r = nodes++;
        left[node] = l;
        right[node] = r;
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
    const forest: Forest = {
      roots,
      feature: feature.slice(0, nodes),
      threshold: threshold.slice(0, nodes),
      left: left.slice(0, nodes),
      right: right.slice(0, nodes),
      value: value.slice(0, nodes),
    };
    return new FittedIsolationForest(this.params, d, psi, n, forest);
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
