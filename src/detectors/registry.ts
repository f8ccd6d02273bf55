// Detector names → factories and loaders. Adding a detector is one file plus one line here.

import path from "node:path";
import { MadkitError } from "../errors.js";
import type { DetectorSpec, FittedDetector } from "./detector.js";
import { ENVELOPE_FILE, loadEnvelope, type LoadedDetector } from "./envelope.js";
import { AUTOENCODER, autoencoder, FittedAutoencoder } from "./autoencoder.js";
import { FittedBehavioural, OUTPUT_ENTROPY, outputEntropy, PERPLEXITY, perplexity } from "./behavioural.js";
import { FittedGaussianMixture, GAUSSIAN_MIXTURE, gaussianMixture } from "./gaussian-mixture.js";
import { FittedIsolationForest, ISOLATION_FOREST, isolationForest } from "./isolation-forest.js";
import { FittedKnn, KNN, knn } from "./knn.js";
import { FittedLof, LOF, lof } from "./lof.js";
import { FittedMahalanobis, MAHALANOBIS, mahalanobis } from "./mahalanobis.js";
import { FittedPca, PCA, pca } from "./pca-residual.js";
import { FittedQue, QUE, que } from "./que.js";
import { FittedSparseAutoencoder, SPARSE_AUTOENCODER, sparseAutoencoder } from "./sparse-autoencoder.js";
import { FittedSpectralSignature, SPECTRAL_SIGNATURE, spectralSignature } from "./spectral-signature.js";
import { FittedVae, VAE, vae } from "./vae.js";

interface Entry {
  /** A spec from (partial) hyper-parameters; unknown or invalid ones raise BAD_ARGUMENT. */
  create(params?: Record<string, unknown>): DetectorSpec;
  restore(loaded: LoadedDetector): FittedDetector;
}

const DETECTORS: Readonly<Record<string, Entry>> = {
  [MAHALANOBIS]: { create: (p) => mahalanobis(p), restore: FittedMahalanobis.restore },
  [PCA]: { create: (p) => pca(p), restore: FittedPca.restore },
  [KNN]: { create: (p) => knn(p), restore: FittedKnn.restore },
  [ISOLATION_FOREST]: { create: (p) => isolationForest(p), restore: FittedIsolationForest.restore },
  [AUTOENCODER]: { create: (p) => autoencoder(p), restore: FittedAutoencoder.restore },
  [VAE]: { create: (p) => vae(p), restore: FittedVae.restore },
  [SPARSE_AUTOENCODER]: { create: (p) => sparseAutoencoder(p), restore: FittedSparseAutoencoder.restore },
  [PERPLEXITY]: { create: (p) => perplexity(p), restore: FittedBehavioural.restore },
  [OUTPUT_ENTROPY]: { create: (p) => outputEntropy(p), restore: FittedBehavioural.restore },
  [LOF]: { create: (p) => lof(p), restore: FittedLof.restore },
  [GAUSSIAN_MIXTURE]: { create: (p) => gaussianMixture(p), restore: FittedGaussianMixture.restore },
  [QUE]: { create: (p) => que(p), restore: FittedQue.restore },
  [SPECTRAL_SIGNATURE]: { create: (p) => spectralSignature(p), restore: FittedSpectralSignature.restore },
};

export const detectorNames: readonly string[] = Object.keys(DETECTORS);

function entry(name: string): Entry {
  const e = Object.hasOwn(DETECTORS, name) ? DETECTORS[name] : undefined;
  if (!e) throw new MadkitError("BAD_ARGUMENT", `unknown detector '${name}'; known: ${detectorNames.join(", ")}`);
  return e;
}

/** A detector spec by registry name, e.g. createDetector("mahalanobis", { covariance: "oas" }). */
export function createDetector(name: string, params: Record<string, unknown> = {}): DetectorSpec {
  return entry(name).create(params);
}

/** Load a fitted detector saved with `save(dir)`; the envelope's kind picks the implementation. */
export function loadDetector(dir: string): FittedDetector {
  const loaded = loadEnvelope(dir);
  const kind = loaded.envelope.kind;
  if (!Object.hasOwn(DETECTORS, kind)) {
    throw new MadkitError("STORE_CORRUPT", `${path.join(dir, ENVELOPE_FILE)}: kind '${kind}' is not a detector this madkit knows; known: ${detectorNames.join(", ")}`);
  }
  return entry(kind).restore(loaded);
}
