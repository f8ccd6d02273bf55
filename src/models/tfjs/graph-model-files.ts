// Load a TensorFlow.js graph model (model.json + weight shards) from a folder on disk through an in-memory
// IO handler, so nothing goes near the network, and hash the same bytes for the model's revision.

import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { loadGraphModel, type GraphModel } from "@tensorflow/tfjs-converter";
import { MadkitError } from "../../errors.js";
import { tf } from "./tfjs-backend.js";

interface WeightsGroup {
  readonly paths: readonly string[];
  readonly weights: readonly tf.io.WeightsManifestEntry[];
}

export interface GraphModelFiles {
  readonly modelJson: { readonly modelTopology: { readonly node: readonly GraphNodeDef[] }; readonly weightsManifest: readonly WeightsGroup[] };
  readonly weightSpecs: readonly tf.io.WeightsManifestEntry[];
  readonly weightData: ArrayBuffer;
  /** sha256 over model.json then each shard in manifest order, first 16 hex chars. */
  readonly revision: string;
}

export interface GraphNodeDef {
  readonly name: string;
  readonly op: string;
  readonly input?: readonly string[];
}

export function readGraphModelFiles(dir: string): GraphModelFiles {
  const jsonPath = path.join(dir, "model.json");
  if (!existsSync(jsonPath)) throw new MadkitError("FILE_NOT_FOUND", `${jsonPath}: no such file (a TensorFlow.js graph model folder)`);
  const jsonBytes = readFileSync(jsonPath);
  const modelJson = JSON.parse(jsonBytes.toString("utf8")) as GraphModelFiles["modelJson"];
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new MadkitError("MALFORMED_MODEL", `${jsonPath}: expected 'modelTopology' and 'weightsManifest', found keys ${Object.keys(modelJson).join(", ")}`);
  }
  const hash = createHash("sha256").update(jsonBytes);
  const shards: Buffer[] = [];
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  for (const group of modelJson.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const p of group.paths) {
      const shardPath = path.join(dir, p);
      if (!existsSync(shardPath)) throw new MadkitError("FILE_NOT_FOUND", `${shardPath}: weight shard listed in ${jsonPath} is missing`);
      const bytes = readFileSync(shardPath);
      hash.update(bytes);
      shards.push(bytes);
    }
  }
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return { modelJson, weightSpecs, weightData, revision: hash.digest("hex").slice(0, 16) };
}

/** Build the graph model on the currently active backend (weights become tensors there). */
export async function loadGraphModelFromFiles(files: GraphModelFiles): Promise<GraphModel> {
  return loadGraphModel(
    tf.io.fromMemory({
      modelTopology: files.modelJson.modelTopology as unknown as object,
      weightSpecs: [...files.weightSpecs],
      weightData: files.weightData,
    }),
  );
}
