// The measurement predictor of the vault world: a small Llama (llama2.c layout, the vault's own closed vocabulary)
// trained from a seeded random initialisation with madkit's fine-tuning code to read a program and answer the three
// sensor readings after its question mark. The untrained initialisation (same seed) is kept beside it as the
// control model. Cached under config.cacheDir, keyed by seed, difficulty, steps and a hash of the training texts;
// written atomically (tokenizer and metadata first, model.bin last, so model.bin existing means the folder is
// complete).

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { config } from "../../config.js";
import { MadkitError } from "../../errors.js";
import { writeFileAtomic } from "../../io/atomic-write.js";
import {
  answerText,
  generateVault,
  TAMPER_KINDS,
  VAULT_WORDS,
  type VaultDraw,
  type VaultExample,
  type VaultOptions,
} from "../../datasets/vault-world.js";
import {
  parseLlama2cCheckpoint,
  readLlama2cCheckpoint,
  serializeLlama2cCheckpoint,
  writeLlama2cCheckpoint,
  type Llama2cCheckpoint,
  type Llama2cConfig,
} from "../../models/llama2c/checkpoint.js";
import { encode, type Llama2cTokenizer } from "../../models/llama2c/tokenizer.js";
import { SeededRng } from "../../random/seeded-rng.js";
import { rngFor } from "../../random/seeded-sampling.js";
import { fineTuneLlama, type FineTuneOptions, type FineTuneProgress, type TrainingSequence } from "./fine-tune.js";
import { vaultTokenizer, vaultTokenizerBytes } from "./vault-tokenizer.js";

/** 4 layers, 64 wide, 4 heads: stories260K's width (5 layers, 8 heads), a context that holds the longest program. */
export function vaultModelConfig(vocabSize: number): Llama2cConfig {
  return { dim: 64, hiddenDim: 176, nLayers: 4, nHeads: 4, nKvHeads: 4, vocabSize, seqLen: 64, sharedClassifier: true };
}

export const VAULT_FINE_TUNE: Omit<FineTuneOptions, "seed" | "onProgress"> = {
  steps: 800,
  batchSize: 32,
  windowLength: 56,
  learningRate: 3e-3,
  weightDecay: 0,
};

/** Training programs per category (every kind drawn uniformly): about the untrusted mix, plus clean ones. */
export const VAULT_TRAIN_DRAWS: readonly VaultDraw[] = [
  { category: "clean", count: 2000 },
  { category: "real", count: 1500 },
  { category: "tampered", count: 1200 },
  { category: "partial", count: 1500 },
  { category: "negative", count: 800 },
];

/** Held-out programs for the accuracy check: every category, each tampering kind. */
export const VAULT_HELDOUT_DRAWS: readonly VaultDraw[] = [
  { category: "clean", count: 100 },
  { category: "real", count: 100 },
  ...TAMPER_KINDS.map((kind): VaultDraw => ({ category: "tampered", kind, count: 50 })),
  { category: "partial", count: 100 },
  { category: "negative", count: 50 },
];

/** Seeded N(0, 0.02) weights (output projections scaled by 1/√(2L), norms at 1): a Llama nobody trained. */
export function randomVaultCheckpoint(c: Llama2cConfig, seed: number): Llama2cCheckpoint {
  const rng = new SeededRng(seed);
  const normal = (n: number, sd: number): Float32Array => Float32Array.from({ length: n }, () => rng.normal() * sd);
  const L = c.nLayers;
  const sd = 0.02;
  const out = sd / Math.sqrt(2 * L);
  const emb = normal(c.vocabSize * c.dim, sd);
  const weights = {
    tokenEmbedding: emb,
    rmsAtt: new Float32Array(L * c.dim).fill(1),
    wq: normal(L * c.dim * c.dim, sd),
    wk: normal(L * c.dim * c.dim * (c.nKvHeads / c.nHeads), sd),
    wv: normal(L * c.dim * c.dim * (c.nKvHeads / c.nHeads), sd),
    wo: normal(L * c.dim * c.dim, out),
    rmsFfn: new Float32Array(L * c.dim).fill(1),
    w1: normal(L * c.hiddenDim * c.dim, sd),
    w2: normal(L * c.dim * c.hiddenDim, out),
    w3: normal(L * c.hiddenDim * c.dim, sd),
    rmsFinal: new Float32Array(c.dim).fill(1),
    wcls: emb,
  };
  return parseLlama2cCheckpoint(serializeLlama2cCheckpoint(c, weights), `vault-untrained-${seed}`);
}

/** A program with its answers as a training sequence: only the three answer tokens count in the loss. */
export function vaultSequence(tok: Llama2cTokenizer, ex: VaultExample): TrainingSequence {
  const prompt = encode(tok, ex.text, true, false);
  const ids = encode(tok, ex.text + answerText(ex.measurements), true, false);
  if (ids.length !== prompt.length + 3) {
    throw new MadkitError("TOKENIZER_MISMATCH", `vault model: the answers did not encode as 3 tokens after '${ex.text}'`);
  }
  const lossMask = new Uint8Array(ids.length);
  lossMask.fill(1, prompt.length);
  return { ids, lossMask };
}

export interface VaultModelOptions extends VaultOptions {
  readonly steps?: number;
  readonly onProgress?: (p: FineTuneProgress) => void;
}

export interface VaultModelInfo {
  readonly dir: string;
  readonly checkpoint: string;
  /** The untrained initialisation the training started from (the control model). */
  readonly untrained: string;
  readonly tokenizer: string;
  readonly trained: boolean;
  readonly seconds: number;
  readonly steps: number;
  readonly firstLoss: number;
  readonly lastLoss: number;
  /** Training programs (their texts: the bench keeps its detection programs apart from them). */
  readonly trainTexts: ReadonlySet<string>;
}

/** The training programs of a seed and difficulty (stream `model-train`). */
export const vaultTrainingExamples = (o: VaultOptions): VaultExample[] => generateVault(o, "model-train", VAULT_TRAIN_DRAWS);

function modelDir(o: VaultOptions, steps: number, texts: readonly string[]): string {
  const h = createHash("sha256");
  for (const t of texts) h.update(t).update("\0");
  h.update(JSON.stringify({ ...VAULT_FINE_TUNE, steps, words: VAULT_WORDS }));
  return path.join(config.cacheDir, `vault-model-d${o.difficulty}-s${steps}-seed${o.seed}-${h.digest("hex").slice(0, 12)}`);
}

/** Whether the model of these options and steps is in the cache (complete: model.bin is written last). */
export function vaultModelCached(o: VaultOptions, steps: number = VAULT_FINE_TUNE.steps): boolean {
  const dir = modelDir(o, steps, vaultTrainingExamples(o).map((e) => e.text));
  return existsSync(path.join(dir, "model.bin"));
}

/** Train the vault model unless the cache holds it; returns where it is and how training went. */
export function ensureVaultModel(o: VaultModelOptions): VaultModelInfo {
  const steps = o.steps ?? VAULT_FINE_TUNE.steps;
  if (!Number.isInteger(steps) || steps < 1) throw new MadkitError("BAD_ARGUMENT", `vault model: steps must be a positive integer, got ${String(steps)}`);
  const examples = vaultTrainingExamples(o);
  const trainTexts = new Set(examples.map((e) => e.text));
  const dir = modelDir(o, steps, examples.map((e) => e.text));
  const files = { dir, checkpoint: path.join(dir, "model.bin"), untrained: path.join(dir, "untrained.bin"), tokenizer: path.join(dir, "tokenizer.bin") };
  const metaFile = path.join(dir, "meta.json");
  if (existsSync(files.checkpoint) && existsSync(files.untrained) && existsSync(files.tokenizer) && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, "utf8")) as { seconds: number; firstLoss: number; lastLoss: number };
    return { ...files, trained: false, seconds: meta.seconds, steps, firstLoss: meta.firstLoss, lastLoss: meta.lastLoss, trainTexts };
  }
  const tok = vaultTokenizer(VAULT_WORDS);
  const init = randomVaultCheckpoint(vaultModelConfig(tok.vocabSize), rngFor(o.seed, "vault/init").nextU32());
  const seqs = examples.map((e) => vaultSequence(tok, e));
  const longest = Math.max(...seqs.map((s) => s.ids.length));
  if (longest > VAULT_FINE_TUNE.windowLength + 1) {
    throw new MadkitError("BAD_ARGUMENT", `vault model: a program has ${longest} tokens, the training window holds ${VAULT_FINE_TUNE.windowLength + 1}`);
  }
  const r = fineTuneLlama(init, seqs, { ...VAULT_FINE_TUNE, steps, seed: o.seed, onProgress: o.onProgress });
  writeFileAtomic(files.tokenizer, vaultTokenizerBytes(VAULT_WORDS));
  writeLlama2cCheckpoint(files.untrained, init.config, init.weights);
  writeFileAtomic(metaFile, JSON.stringify({ seed: o.seed, difficulty: o.difficulty, programs: examples.length, config: init.config,
    fineTune: { ...VAULT_FINE_TUNE, steps }, seconds: r.seconds, firstLoss: r.losses[0], lastLoss: r.losses.at(-1) }, null, 2) + "\n");
  writeLlama2cCheckpoint(files.checkpoint, r.checkpoint.config, r.checkpoint.weights);
  return { ...files, trained: true, seconds: r.seconds, steps, firstLoss: r.losses[0]!, lastLoss: r.losses.at(-1)!, trainTexts };
}

export const readVaultCheckpoint = (file: string): Llama2cCheckpoint => readLlama2cCheckpoint(file);
