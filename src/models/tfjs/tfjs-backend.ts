// TensorFlow.js keeps one global engine with one active backend. This module starts the pure-JS `cpu` or
// the WebAssembly `wasm` backend in Node (wasm binaries read from the installed package, no network) and
// serialises work, so two sources on different backends never interleave their async graph runs.

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import path from "node:path";
import { MadkitError } from "../../errors.js";

export type TfjsBackend = "wasm" | "cpu";

let wasmPathsSet = false;
let queue: Promise<unknown> = Promise.resolve();

function configureOnce(): void {
  if (wasmPathsSet) return;
  wasmPathsSet = true;
  // Library, not demo: silence tfjs's console advice ("install tfjs-node") and its debug checks.
  tf.enableProdMode();
  const require = createRequire(import.meta.url);
  const wasmDir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
  // A plain folder path: the Emscripten loader reads the .wasm file with fs in Node.
  setWasmPaths(wasmDir + path.sep);
}

async function activate(backend: TfjsBackend): Promise<void> {
  configureOnce();
  if (tf.getBackend() === backend) return;
  const ok = await tf.setBackend(backend);
  if (!ok) {
    throw new MadkitError("NOT_SUPPORTED", `tfjs backend '${backend}' failed to initialise in this Node process`);
  }
  await tf.ready();
}

/** Run `fn` with `backend` active, after every earlier call has finished. */
export function withBackend<T>(backend: TfjsBackend, fn: () => Promise<T>): Promise<T> {
  const run = queue.then(async () => {
    await activate(backend);
    return fn();
  });
  queue = run.catch(() => undefined);
  return run;
}

export { tf };
