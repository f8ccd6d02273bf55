// madkit's public API: everything the CLI does is one of these calls. Grouped by the way data walks:
// models → activations → (detectors, eval, report: added by their modules) — keep each group sorted.

// Errors and configuration
export { MadkitError, isMadkitError, type MadkitErrorCode } from "./errors.js";
export { config } from "./config.js";

// Matrices: the one numeric type
export { firstNonFinite, matrix, row, rowSlice, vstack32, zeros32, zeros64, type FloatArray, type Matrix } from "./linalg/matrix.js";

// Models
export { loadFromRecipe, loadModel, recipeOf, resolveModel, SHORT_NAMES, withRecipe, type LoadModelOptions, type ModelSpec, type SourceRecipe } from "./models/registry.js";
export { unknownShareOf, visibleLength } from "./models/unknown-share.js";
export { BLOCK_HOOKS, blockHook, FINAL_NORM_HOOK, LOGITS_HOOK, resolveHooks, SENTENCE_EMBEDDING_HOOK } from "./models/hook-names.js";
export type { ActivationSource, ForwardOptions, ForwardResult, HookGranularity, HookPoint, InputActivations, ModelInfo, Tokenization } from "./models/source.js";

// Activations: extraction, the on-disk store, inputs, pooling
export { activationCacheKey, InputsDigest, type CacheKeyParts } from "./activations/cache-key.js";
export { combineStores, type CombineOptions } from "./activations/combine.js";
export { EXTRACT_DEFAULTS, extractActivations, type ExtractInput, type ExtractOptions, type ExtractProgress, type ExtractResult } from "./activations/extract.js";
export { readInputs, type InputFormat, type InputLabel, type InputRecord, type ReadInputsOptions, type TextSplit } from "./activations/input-reader.js";
export { parsePooling, POOLINGS, pooledRows, poolTokens, type Pooling } from "./activations/pooling.js";
export { openStore, type ActivationStore, type HookBlock, type InputRow, type StoreHookInfo, type StoreIndex } from "./activations/store.js";
export type { Shard, StoreParams } from "./activations/store-layout.js";

// File formats
export { AtomicFileWriter, writeFileAtomic } from "./io/atomic-write.js";
export {
  readSafetensors,
  readSafetensorsHeader,
  SafetensorsReader,
  SafetensorsWriter,
  writeSafetensors,
  type SafetensorsDtype,
  type SafetensorsHeader,
  type TensorInfo,
} from "./io/safetensors.js";

// Detectors: the contract, the registry, and every method (one factory, spec, fitted class and params type each)
export type { Contribution, DetectorSpec, Explanation, FittedDetector } from "./detectors/detector.js";
export { createDetector, detectorNames, loadDetector } from "./detectors/registry.js";
export { AUTOENCODER, autoencoder, AutoencoderSpec, FittedAutoencoder, type AutoencoderParams } from "./detectors/autoencoder.js";
export { FittedGaussianMixture, GAUSSIAN_MIXTURE, gaussianMixture, GaussianMixtureSpec, type GaussianMixtureParams } from "./detectors/gaussian-mixture.js";
export { FittedIsolationForest, ISOLATION_FOREST, isolationForest, IsolationForestSpec, type IsolationForestParams } from "./detectors/isolation-forest.js";
export { FittedKnn, KNN, knn, KnnSpec, type KnnExplanation, type KnnParams } from "./detectors/knn.js";
export { FittedLof, LOF, lof, LofSpec, type LofParams } from "./detectors/lof.js";
export { FittedMahalanobis, MAHALANOBIS, mahalanobis, MahalanobisSpec, type MahalanobisParams } from "./detectors/mahalanobis.js";
export { FittedPca, PCA, pca, PcaSpec, type PcaParams } from "./detectors/pca-residual.js";
export { FittedQue, QUE, que, QueSpec, type QueParams } from "./detectors/que.js";
export { FittedSparseAutoencoder, SPARSE_AUTOENCODER, sparseAutoencoder, SparseAutoencoderSpec, type SparseAutoencoderParams } from "./detectors/sparse-autoencoder.js";
export { FittedSpectralSignature, SPECTRAL_SIGNATURE, spectralSignature, SpectralSignatureSpec, type SpectralSignatureParams } from "./detectors/spectral-signature.js";
export { FittedVae, VAE, vae, VaeSpec, type VaeParams } from "./detectors/vae.js";

// Detectors: behavioural baselines, multi-hook bundles and their combiners; eval: conformal calibration
export { BehaviouralSpec, FittedBehavioural, OUTPUT_ENTROPY, outputEntropy, PERPLEXITY, perplexity, type BehaviouralParams } from "./detectors/behavioural.js";
export {
  BUNDLE_DEFAULTS,
  FittedBundle,
  fitBundle,
  loadBundle,
  type BundleExplanation,
  type BundleHook,
  type BundleMeta,
  type BundleModel,
  type BundleScores,
  type FitBundleOptions,
  type HookContribution,
} from "./bundle/bundle.js";
export { COMBINERS, combineScores, HookNormaliser, hookTerms, parseCombiner, reduceTerms, type Combiner } from "./bundle/combine.js";
export { calibrationNeeded, ConformalCalibration, conformalFlag, conformalPValue, conformalThreshold, maxExceedances, smallestAlpha } from "./eval/conformal.js";
export { BEHAVIOUR_HOOKS, behaviourFromLogits, behaviourHookPoints, isBehaviourHook, OUTPUT_ENTROPY_HOOK, TOKEN_NLL_HOOK } from "./models/behaviour-hooks.js";

// Monitor service: HTTP scoring, review queue, labels, probe
export { createMonitorApp, type AppDeps } from "./server/app.js";
export { authenticate, hashToken, issueToken, roleAllows } from "./server/auth.js";
export { defaultBundle, defaultBundleDir } from "./server/default-bundle.js";
export { fitLogisticRegression, LogisticProbe, type LogisticFit, type ProbeState } from "./server/logistic-probe.js";
export { MonitorMetrics } from "./server/metrics.js";
export { MIGRATIONS, LATEST_SCHEMA_VERSION, type Migration } from "./server/migrations.js";
export { openStore as openMonitorStore } from "./server/open-store.js";
export { openApiDocument } from "./server/openapi.js";
export { DEFAULT_LIMITS, type ServiceLimits } from "./server/schemas.js";
export { DEFAULT_MAX_UNKNOWN_SHARE, MonitorScorer, ScoringCancelled, type FailClosedReason, type GroupInput, type GroupOutcome, type ScorerOptions, type ScoreResult, type TextCoverage } from "./server/scorer.js";
export { InThreadRunner, ScoreBatcher, type ScoreRunner } from "./server/score-batcher.js";
export { ScoreWorkers, scoreRunner, trainProbeInWorker, type ScoreWorkersOptions } from "./server/score-workers.js";
export { listenMonitor, restoreProbe, startMonitor, type ListenOptions, type RunningMonitor, type StartMonitorOptions } from "./server/service.js";
export { LABELS, ROLES, type Label, type MonitorStore, type NewItem, type Role, type StoredItem, type TokenRecord } from "./server/storage.js";
export { probeTrainingSet, trainProbe, type ProbeTrainingSet } from "./server/train-probe.js";

// Benchmark: the grid runner, its plan, results.json, and the bootstrap behind its intervals
export { makePlan, detectorGrid, modelPlan, ALPHAS, type BenchPlan, type ModelPlan, type PlannedDetector, type PlanOptions, type DetectorFamily } from "./bench/plan.js";
export { runBench, hooksFor, type BenchOptions, type BenchProgress } from "./bench/runner.js";
export { writeResults, RESULTS_FILE } from "./bench/write-results.js";
export { extractForBench, benchStoreKey, type BenchExtractOptions, type ExtractedActivations } from "./bench/extraction.js";
export { SELECTION_CRITERION, selectOnValidation } from "./bench/selection.js";
export { chooseLabelFree, LABEL_FREE_CRITERION, selectLabelFree, type LabelFreeChoice } from "./bench/label-free-selection.js";
export { mechanismMargins } from "./bench/mechanism-margin.js";
export {
  MECHANISM_MARGIN_MIN,
  RESULTS_FORMAT,
  RESULTS_SCHEMA_VERSION,
  type AtAlpha,
  type BaseRatePoint,
  type BenchResults,
  type MechanismMargin,
  type PlanSummary,
  type ResultRecord,
  type Selection,
  type SelectionComparison,
  type WithCi,
} from "./results/contract.js";
export { bootstrapMetrics, bootstrapStatistic, percentileInterval, replicateThresholds, BOOTSTRAP_DEFAULTS, type BootstrapOptions, type MetricsWithCi, type Interval, type QuantileRule, type StatisticWithCi } from "./eval/bootstrap.js";
export { BASE_RATES, bootstrapOperatingPoint, precisionAtRate, type OperatingPoint, type PrecisionAtRate } from "./eval/base-rate.js";
export { buildPaper, checkPaperNumbers, type Paper } from "./report/paper.js";

// Training the story models (jax-js), the backdoor and capability-gap tasks
export { checkpointFromParams, FINE_TUNE_DEFAULTS, fineTuneLlama, type FineTuneOptions, type FineTuneProgress, type FineTuneResult, type TrainingSequence } from "./train/llama/fine-tune.js";
export { bitsPerChar } from "./train/llama/bits-per-char.js";
export {
  backdoorCheckpointInfo,
  ensureBackdoorCheckpoint,
  evaluateBackdoor,
  loadBackdoorSource,
  TARGET_PHRASE,
  TRIGGER_KINDS,
  TRIGGER_SPECS,
  TRIGGERS,
  type BackdoorEvaluation,
  type BackdoorTrainReport,
  type TriggerKind,
} from "./train/llama/backdoor-training.js";
export { buildBackdoorTask, type BackdoorTask } from "./tasks/backdoor.js";
export { quantizeCheckpoint, quantizeRows } from "./models/llama2c/quantize.js";
export { earlyExitCheckpoint } from "./models/llama2c/early-exit.js";
export { GAP_SCORES, runCapabilityGap, type CapabilityGapOptions, type CapabilityGapResult, type GapRow } from "./tasks/gap/run-capability-gap.js";
export { constructGapPositions, type GapPosition } from "./tasks/gap/constructed-set.js";
export { WEAK_MODEL_NAMES, type WeakModelName } from "./tasks/gap/weak-models.js";
export { GAP_SCORE_SPECS, type GapScoreName } from "./tasks/gap/gap-scores.js";
export { fitRidgeMap, ridgeResiduals, type RidgeMap } from "./tasks/gap/ridge-map.js";
export { ensureSmallSibling, SMALL_SIBLING_DEFAULTS, type SmallSiblingInfo, type SmallSiblingOptions } from "./train/llama/small-sibling.js";
