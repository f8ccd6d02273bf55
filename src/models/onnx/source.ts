// ONNX decoder models in the Hugging Face / transformers.js folder layout as an ActivationSource: the graph is
// patched to output the hook tensors (hook-map.ts), run by onnxruntime-node on right-padded batches, and
// tokenized with the folder's tokenizer.json through @huggingface/tokenizers (pure JS, no network).

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import ort from "onnxruntime-node";
import { MadkitError } from "../../errors.js";
import { writeFileAtomic } from "../../io/atomic-write.js";
import { matrix, type Matrix } from "../../linalg/matrix.js";
import { behaviourFromLogits, behaviourHookPoints, isBehaviourHook, OUTPUT_ENTROPY_HOOK, TOKEN_NLL_HOOK } from "../behaviour-hooks.js";
import { LOGITS_HOOK, resolveHooks } from "../hook-names.js";
import { unknownShareOf, visibleLength } from "../unknown-share.js";
import type { ActivationSource, ForwardOptions, ForwardResult, HookPoint, ModelInfo, Tokenization } from "../source.js";
import { mapHooks, type HookTensor } from "./hook-map.js";
import { appendGraphOutputs, decodeModel, type GraphProto } from "./onnx-proto.js";

export interface OnnxSourceOptions {
  readonly dir: string;
  readonly id?: string;
  /** onnxruntime intra-op threads; default: onnxruntime's own choice (all cores). */
  readonly threads?: number;
}

type HfConfig = Record<string, unknown>;

function readJson(file: string, what: string): HfConfig {
  if (!existsSync(file)) {
    throw new MadkitError("FILE_NOT_FOUND", `${file}: missing; an ONNX model folder needs ${what}`);
  }
  try {
    const v: unknown = JSON.parse(readFileSync(file, "utf8"));
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`top level is ${Array.isArray(v) ? "an array" : typeof v}`);
    return v as HfConfig;
  } catch (e) {
    throw new MadkitError("MALFORMED_MODEL", `${file}: expected ${what} as a JSON object, could not parse it (${(e as Error).message})`, { cause: e });
  }
}

function num(config: HfConfig, keys: readonly string[]): number | undefined {
  for (const k of keys) {
    const v = config[k];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return undefined;
}

function findModelFile(dir: string): string {
  // Full-precision graphs first; transformers.js folders may hold only fp16 / quantised variants, whose
  // residual structure is the same. Merged decoders (an If node around two subgraphs) are not listed:
  // their layers live inside the subgraphs, out of reach of graph-output surgery.
  for (const rel of [
    "onnx/model.onnx", "model.onnx", "onnx/decoder_model.onnx", "decoder_model.onnx",
    "onnx/model_fp16.onnx", "model_fp16.onnx", "onnx/model_quantized.onnx", "model_quantized.onnx",
  ]) {
    const p = path.join(dir, rel);
    if (existsSync(p)) return p;
  }
  throw new MadkitError(
    "FILE_NOT_FOUND",
    `${dir}: no ONNX model found (expected onnx/model.onnx or model.onnx, as optimum-cli / transformers.js exports write)`,
  );
}

/** IEEE half → float (fp16 exports return Uint16Array data on Node 20, which has no Float16Array). */
function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function toFloat32(t: ort.Tensor, name: string): Float32Array {
  if (t.type === "float32") return t.data as Float32Array;
  if (t.type === "float16") return Float32Array.from(t.data as Uint16Array, halfToFloat);
  if (t.type === "float64") return Float32Array.from(t.data as Float64Array);
  throw new MadkitError("NOT_SUPPORTED", `graph tensor '${name}' has type ${t.type}, expected a float tensor`);
}

/** input_ids (pad id after the end), attention_mask (1 on real tokens) and position_ids of a right-padded [B, T] batch. */
function rightPadded(seqs: readonly Int32Array[], T: number, padId: number): { ids: BigInt64Array; mask: BigInt64Array; pos: BigInt64Array } {
  const B = seqs.length;
  const ids = new BigInt64Array(B * T).fill(BigInt(padId));
  const mask = new BigInt64Array(B * T);
  const pos = new BigInt64Array(B * T);
  seqs.forEach((s, b) => {
    for (let t = 0; t < T; t++) {
      if (t < s.length) {
        ids[b * T + t] = BigInt(s[t]!);
        mask[b * T + t] = 1n;
      }
      pos[b * T + t] = BigInt(t);
    }
  });
  return { ids, mask, pos };
}

export class OnnxSource implements ActivationSource {
  private disposed = false;
  private readonly tensorOf: ReadonlyMap<string, string>;

  constructor(
    readonly info: ModelInfo,
    private readonly hookPoints: readonly HookPoint[],
    hookTensors: readonly HookTensor[],
    private readonly session: ort.InferenceSession,
    private readonly tokenizer: Tokenizer,
    private readonly padId: number,
    private readonly pastShape: { kvHeads: number; headDim: number },
    /** The tokenizer's unknown-token id; undefined when it has none (byte-level BPE, byte fallback). */
    private readonly unkId?: number,
  ) {
    this.tensorOf = new Map(hookTensors.map((h) => [h.hook, h.tensor]));
  }

  hooks(): readonly HookPoint[] {
    return this.hookPoints;
  }

  tokenize(text: string): Tokenization {
    const enc = this.tokenizer.encode(text);
    return { ids: Int32Array.from(enc.ids), pieces: enc.tokens };
  }

  async forward(texts: readonly string[], options: ForwardOptions): Promise<ForwardResult> {
    if (this.disposed) throw new MadkitError("BAD_ARGUMENT", `${this.info.id}: forward() called after dispose()`);
    const chosen = resolveHooks(options.hooks, this.hookPoints);
    const n = this.info.contextLength;
    const encoded = texts.map((t) => this.tokenize(t).ids);
    const truncated = encoded.map((ids) => ids.length > n);
    const unknownTokens = encoded.map((ids) => (this.unkId === undefined ? 0 : ids.reduce((c, id) => c + (id === this.unkId ? 1 : 0), 0)));
    // No character offsets from this tokenizer: the share counts tokens (1 when nothing visible is there to read).
    const unknownShare = encoded.map((ids, b) => (visibleLength(texts[b]!) === 0 ? 1 : unknownShareOf(unknownTokens[b]!, ids.length)));
    const seqs = encoded.map((ids) => (ids.length > n ? ids.subarray(0, n) : ids));
    const lengths = seqs.map((s) => s.length);
    const B = texts.length;
    const T = Math.max(1, ...lengths);
    if (B === 0) return { activations: [], tokenCounts: [], truncated: [], unknownTokens: [], unknownShare: [] };

    const feeds = this.feeds(seqs, T);
    const behaviour = { nll: chosen.some((h) => h.name === TOKEN_NLL_HOOK), entropy: chosen.some((h) => h.name === OUTPUT_ENTROPY_HOOK) };
    const graphHooks = chosen.filter((h) => !isBehaviourHook(h.name));
    const out = await this.session.run(feeds, this.fetchList(graphHooks, behaviour.nll || behaviour.entropy));
    const activations = seqs.map(() => new Map<string, Matrix<Float32Array>>());
    if (behaviour.nll || behaviour.entropy) this.addBehaviourHooks(activations, out, seqs, T, behaviour);
    for (const h of graphHooks) this.addGraphHook(activations, out, seqs, T, h);
    return { activations, tokenCounts: lengths, truncated, unknownTokens, unknownShare };
  }

  /**
   * A value for every input the graph declares, for the right-padded batch `seqs` [B, T]: pad positions are
   * masked out of every real position's attention (and dropped from the outputs).
   */
  private feeds(seqs: readonly Int32Array[], T: number): Record<string, ort.Tensor> {
    const B = seqs.length;
    const { ids, mask, pos } = rightPadded(seqs, T, this.padId);
    const feeds: Record<string, ort.Tensor> = {};
    for (const meta of this.session.inputMetadata) {
      const name = meta.name;
      const type = meta.isTensor ? meta.type : "int64";
      const intTensor = (data: BigInt64Array): ort.Tensor =>
        type === "int32" ? new ort.Tensor("int32", Int32Array.from(data, Number), [B, T]) : new ort.Tensor("int64", data, [B, T]);
      if (name === "input_ids") feeds[name] = intTensor(ids);
      else if (name === "attention_mask") feeds[name] = intTensor(mask);
      else if (name === "position_ids") feeds[name] = intTensor(pos);
      else if (name === "token_type_ids") feeds[name] = intTensor(new BigInt64Array(B * T));
      else if (/^past_key_values\.\d+\.(key|value)$/.test(name)) feeds[name] = this.emptyPast(meta, B);
      else if (name === "use_cache_branch") feeds[name] = new ort.Tensor("bool", [false], [1]);
      else {
        throw new MadkitError(
          "NOT_SUPPORTED",
          `${this.info.id}: the ONNX graph has input '${name}', which madkit does not know how to feed ` +
            `(supported: input_ids, attention_mask, position_ids, token_type_ids, past_key_values.*, use_cache_branch)`,
        );
      }
    }
    return feeds;
  }

  /**
   * Decoder-with-past export: an empty cache (past length 0) runs the whole sequence at once.
   * Declared dims win over config.json (GPT-2 configs name heads n_head; some exports pad head_dim).
   */
  private emptyPast(meta: ort.InferenceSession.ValueMetadata, B: number): ort.Tensor {
    const type = meta.isTensor ? meta.type : "int64";
    const declared = meta.isTensor ? meta.shape : [];
    const kvHeads = typeof declared[1] === "number" ? declared[1] : this.pastShape.kvHeads;
    const headDim = typeof declared[3] === "number" ? declared[3] : this.pastShape.headDim;
    const dtype = type === "float16" ? "float16" : "float32";
    return new ort.Tensor(dtype, dtype === "float16" ? new Uint16Array(0) : new Float32Array(0), [B, kvHeads, 0, headDim]);
  }

  /** The graph tensors to fetch: each graph hook's once, and the logits when a behaviour hook needs them. */
  private fetchList(graphHooks: readonly HookPoint[], wantBehaviour: boolean): string[] {
    const logitsTensor = this.tensorOf.get(LOGITS_HOOK);
    const fetch = [...new Set(graphHooks.map((h) => this.tensorOf.get(h.name)!))];
    // Behaviour hooks derive from the logits, fetched only when one of them (or logits itself) is asked for.
    if (wantBehaviour && logitsTensor !== undefined && !fetch.includes(logitsTensor)) fetch.push(logitsTensor);
    return fetch;
  }

  /** Per-token NLL and/or output entropy of each input, derived from the fetched logits [B, T, V]. */
  private addBehaviourHooks(
    activations: Array<Map<string, Matrix<Float32Array>>>,
    out: ort.InferenceSession.OnnxValueMapType,
    seqs: readonly Int32Array[],
    T: number,
    want: { nll: boolean; entropy: boolean },
  ): void {
    const B = seqs.length;
    const V = this.info.vocabSize;
    const logitsTensor = this.tensorOf.get(LOGITS_HOOK);
    const logits = toFloat32(out[logitsTensor!]!, logitsTensor!);
    if (logits.length !== B * T * V) {
      throw new MadkitError("DIMENSION_MISMATCH", `${this.info.id}: logits tensor '${logitsTensor}' has ${logits.length} values, expected ${B} x ${T} x ${V}`);
    }
    seqs.forEach((s, b) => {
      const r = behaviourFromLogits(logits.subarray(b * T * V, (b * T + s.length) * V), s, V, want);
      if (r.nll) activations[b]!.set(TOKEN_NLL_HOOK, matrix(s.length, 1, r.nll));
      if (r.entropy) activations[b]!.set(OUTPUT_ENTROPY_HOOK, matrix(s.length, 1, r.entropy));
    });
  }

  /** Graph hook `h` of each input: its real (unpadded) rows of the fetched [B, T, dim] tensor. */
  private addGraphHook(
    activations: Array<Map<string, Matrix<Float32Array>>>,
    out: ort.InferenceSession.OnnxValueMapType,
    seqs: readonly Int32Array[],
    T: number,
    h: HookPoint,
  ): void {
    const B = seqs.length;
    const tensorName = this.tensorOf.get(h.name)!;
    const t = out[tensorName]!;
    const data = toFloat32(t, tensorName);
    if (data.length !== B * T * h.dim) {
      throw new MadkitError(
        "DIMENSION_MISMATCH",
        `${this.info.id}: tensor '${tensorName}' (${h.name}) has shape [${t.dims.join(", ")}], expected ${B} x ${T} x ${h.dim} values`,
      );
    }
    seqs.forEach((s, b) => {
      const rows = s.length;
      activations[b]!.set(h.name, matrix(rows, h.dim, data.slice(b * T * h.dim, (b * T + rows) * h.dim)));
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

export async function loadOnnxSource(opts: OnnxSourceOptions): Promise<ActivationSource> {
  const dir = opts.dir;
  const configFile = path.join(dir, "config.json");
  const config = readJson(configFile, "config.json (the Hugging Face model config: hidden_size, num_hidden_layers, ...)");
  const { tokenizer, tokenizerJson } = readTokenizer(dir);
  const modelFile = findModelFile(dir);
  const bytes = readFileSync(modelFile);
  const graph = decodeModel(bytes, modelFile).graph as GraphProto;
  const { hooks: hookTensors, nLayers } = mapHooks(graph, modelFile);
  const { dModel, vocabSize, contextLength, pastShape } = modelDims(config, configFile);
  const session = await createSession(bytes, modelFile, graph, hookTensors, opts.threads);

  const hookPoints: HookPoint[] = hookTensors.map((h) => ({
    name: h.hook,
    dim: h.hook === "logits" ? vocabSize : dModel,
    granularity: "token",
    layer: h.layer,
  }));
  if (hookPoints.some((h) => h.name === LOGITS_HOOK)) hookPoints.push(...behaviourHookPoints(nLayers));
  const padId = num(config, ["pad_token_id"]) ?? num(config, ["eos_token_id"]) ?? 0;
  const revision = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const info: ModelInfo = {
    id: opts.id ?? `onnx:${path.basename(path.resolve(dir))}`,
    revision,
    format: "onnx",
    nLayers,
    dModel,
    vocabSize,
    contextLength,
  };
  return new OnnxSource(info, hookPoints, hookTensors, session, tokenizer, padId, pastShape, unknownTokenId(tokenizerJson, tokenizer));
}

/** The folder's tokenizer.json (with tokenizer_config.json when present) as a tokenizer, and the raw JSON. */
function readTokenizer(dir: string): { tokenizer: Tokenizer; tokenizerJson: HfConfig } {
  const tokenizerJson = readJson(path.join(dir, "tokenizer.json"), "tokenizer.json (a Hugging Face tokenizers file)");
  const tokenizerConfigFile = path.join(dir, "tokenizer_config.json");
  const tokenizerConfig = existsSync(tokenizerConfigFile) ? readJson(tokenizerConfigFile, "tokenizer_config.json") : {};
  try {
    return { tokenizer: new Tokenizer(tokenizerJson, tokenizerConfig), tokenizerJson };
  } catch (e) {
    throw new MadkitError(
      "MALFORMED_MODEL",
      `${path.join(dir, "tokenizer.json")}: not a usable Hugging Face tokenizer (${(e as Error).message})`,
      { cause: e },
    );
  }
}

/** Width, vocabulary and context length from config.json (under HF's or GPT-2's names), and the kv-cache shape. */
function modelDims(config: HfConfig, configFile: string): {
  dModel: number;
  vocabSize: number;
  contextLength: number;
  pastShape: { kvHeads: number; headDim: number };
} {
  const dModel = num(config, ["hidden_size", "n_embd", "d_model"]);
  const vocabSize = num(config, ["vocab_size"]);
  const contextLength = num(config, ["max_position_embeddings", "n_positions", "n_ctx"]);
  if (dModel === undefined || vocabSize === undefined || contextLength === undefined) {
    throw new MadkitError(
      "MALFORMED_MODEL",
      `${configFile}: expected numeric hidden_size (or n_embd), vocab_size and max_position_embeddings ` +
        `(or n_positions); found hidden_size=${String(config.hidden_size ?? config.n_embd)}, vocab_size=${String(config.vocab_size)}, ` +
        `max_position_embeddings=${String(config.max_position_embeddings ?? config.n_positions)}`,
    );
  }
  const nHeads = num(config, ["num_attention_heads", "n_head"]) ?? 1;
  const pastShape = {
    kvHeads: num(config, ["num_key_value_heads", "n_head", "num_attention_heads"]) ?? nHeads,
    headDim: num(config, ["head_dim"]) ?? dModel / nHeads,
  };
  return { dModel, vocabSize, contextLength, pastShape };
}

/** Graph surgery (the hook tensors as extra outputs), then an onnxruntime session on the patched graph. */
async function createSession(
  bytes: Uint8Array, modelFile: string, graph: GraphProto, hookTensors: readonly HookTensor[], threads: number | undefined,
): Promise<ort.InferenceSession> {
  const existing = new Set((graph.output ?? []).map((o) => o.name));
  const extra = [...new Set(hookTensors.map((h) => h.tensor))].filter((t) => !existing.has(t));
  const patched = appendGraphOutputs(bytes, extra);
  const sessionOptions: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: "all" };
  if (threads !== undefined) sessionOptions.intraOpNumThreads = threads;
  const external = (graph.initializer ?? []).some((t) => (t.data_location ?? 0) === 1);
  try {
    if (external) {
      // External weights resolve relative to the graph file: write the patched graph beside the original.
      const patchedFile = modelFile.replace(/\.onnx$/, ".madkit-hooks.onnx");
      writeFileAtomic(patchedFile, patched);
      return await ort.InferenceSession.create(patchedFile, sessionOptions);
    }
    return await ort.InferenceSession.create(patched, sessionOptions);
  } catch (e) {
    throw new MadkitError("MALFORMED_MODEL", `${modelFile}: onnxruntime could not load the graph (${(e as Error).message})`, { cause: e });
  }
}

/**
 * The id the tokenizer emits for text it cannot read: the model's `unk_token` (BPE, WordPiece) or `unk_id`
 * (Unigram); none with byte fallback or without an unknown token (byte-level BPE reads every byte).
 */
function unknownTokenId(tokenizerJson: HfConfig, tokenizer: Tokenizer): number | undefined {
  const model = tokenizerJson.model as { type?: unknown; unk_token?: unknown; unk_id?: unknown; byte_fallback?: unknown } | undefined;
  if (!model || model.byte_fallback === true) return undefined;
  if (typeof model.unk_id === "number") return model.unk_id;
  if (typeof model.unk_token === "string") return tokenizer.token_to_id(model.unk_token);
  return undefined;
}
