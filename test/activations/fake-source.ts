// A small deterministic ActivationSource for store/extraction tests: whitespace tokens, a BOS token, a short
// context so truncation happens, and activations that are a closed-form function of (token id, position,
// layer, unit) — so a test can recompute any expected number, whatever the batch it ran in.

import { matrix, type Matrix } from "../../src/linalg/matrix.js";
import type { ActivationSource, ForwardOptions, ForwardResult, HookPoint, ModelInfo, Tokenization } from "../../src/models/source.js";

export const FAKE_HOOKS: readonly HookPoint[] = [
  { name: "hook_embed", dim: 3, granularity: "token", layer: -1 },
  { name: "blocks.0.hook_resid_post", dim: 4, granularity: "token", layer: 0 },
  { name: "blocks.1.hook_resid_post", dim: 4, granularity: "token", layer: 1 },
  { name: "sentence_embedding", dim: 2, granularity: "sequence", layer: 2 },
];

export interface FakeSourceOptions {
  readonly contextLength?: number;
  readonly revision?: string;
  /** Texts containing this word produce a NaN in blocks.1.hook_resid_post. */
  readonly poisonWord?: string;
}

/** Token id of a word: a small string hash, BOS = 1. */
export function fakeTokenId(word: string): number {
  let h = 7;
  for (let i = 0; i < word.length; i++) h = (h * 31 + word.charCodeAt(i)) % 997;
  return h + 2;
}

/** The closed form every activation follows. */
export function fakeActivation(id: number, position: number, layer: number, unit: number): number {
  return Math.sin(id * 0.1 + layer * 1.3 + unit * 0.37) + position * 0.01;
}

export class FakeSource implements ActivationSource {
  readonly info: ModelInfo;
  forwardCalls = 0;
  inputsRun = 0;
  private readonly poison?: string;

  constructor(options: FakeSourceOptions = {}) {
    this.info = {
      id: "fake",
      revision: options.revision ?? "rev0",
      format: "llama2c",
      nLayers: 2,
      dModel: 4,
      vocabSize: 1000,
      contextLength: options.contextLength ?? 8,
    };
    this.poison = options.poisonWord;
  }

  hooks(): readonly HookPoint[] {
    return FAKE_HOOKS;
  }

  tokenize(text: string): Tokenization {
    const words = text.split(/\s+/).filter((w) => w.length > 0);
    return { ids: Int32Array.from([1, ...words.map(fakeTokenId)]), pieces: ["<s>", ...words] };
  }

  async forward(texts: readonly string[], options: ForwardOptions): Promise<ForwardResult> {
    this.forwardCalls++;
    this.inputsRun += texts.length;
    const activations: Map<string, Matrix<Float32Array>>[] = [];
    const tokenCounts: number[] = [];
    const truncated: boolean[] = [];
    for (const text of texts) {
      const all = this.tokenize(text).ids;
      const ids = all.subarray(0, this.info.contextLength);
      const map = new Map<string, Matrix<Float32Array>>();
      for (const name of options.hooks) {
        const h = FAKE_HOOKS.find((x) => x.name === name);
        if (!h) throw new Error(`fake source: unknown hook ${name}`);
        if (h.granularity === "sequence") {
          const d = new Float32Array(h.dim);
          for (let j = 0; j < h.dim; j++) d[j] = ids.length + j * 0.5;
          map.set(name, matrix(1, h.dim, d));
          continue;
        }
        const d = new Float32Array(ids.length * h.dim);
        for (let t = 0; t < ids.length; t++) for (let j = 0; j < h.dim; j++) d[t * h.dim + j] = fakeActivation(ids[t]!, t, h.layer, j);
        if (this.poison && h.layer === 1 && text.split(/\s+/).includes(this.poison)) d[d.length - 1] = Number.NaN;
        map.set(name, matrix(ids.length, h.dim, d));
      }
      activations.push(map);
      tokenCounts.push(ids.length);
      truncated.push(all.length > ids.length);
    }
    return { activations, tokenCounts, truncated, unknownTokens: texts.map(() => 0), unknownShare: texts.map((t) => (t.trim() === "" ? 1 : 0)) };
  }

  async dispose(): Promise<void> {}
}
