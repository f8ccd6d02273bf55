// What a caller passes to `runBench` and what it hears back while the run goes: the plan's options, injection
// points for tests (a fake model, a synthetic task, stand-ins for backdoor training and the capability gap) and the
// progress callback. Every stage reads its part of these; none reads the command line.

import type { ActivationSource } from "../models/source.js";
import type { CapabilityGapOptions, CapabilityGapResult } from "../tasks/gap/run-capability-gap.js";
import type { BuildTaskOptions, Task } from "../tasks/task.js";
import type { TriggerKind } from "../train/llama/backdoor-training.js";
import type { BackdoorRunHooks } from "./backdoor-run.js";
import type { BenchPlan, PlanOptions } from "./plan.js";

export interface BenchProgress {
  /** `train`: fitting a backdoored checkpoint or measuring it; `gap`: the capability-gap evaluation. */
  readonly stage: "extract" | "detect" | "train" | "gap";
  /** e.g. `jailbreak-ood × use-lite: mahalanobis @ blocks.1.hook_resid_post`. */
  readonly label: string;
  /** Work units finished and planned over the whole run (extraction counts inputs, detection counts fits). */
  readonly done: number;
  readonly total: number;
}

export interface BenchOptions extends PlanOptions {
  /** A ready plan (tests); default `makePlan(options)`. */
  readonly plan?: BenchPlan;
  readonly cacheDir?: string;
  readonly madkitVersion?: string;
  /** Injection points for tests: a fake model, a synthetic task. */
  readonly loadModel?: (name: string) => Promise<ActivationSource>;
  readonly buildTask?: (name: string, options: BuildTaskOptions) => Task;
  readonly onProgress?: (p: BenchProgress) => void;
  /** Backdoor tasks: stand-ins for training and measuring the checkpoint (tests). */
  readonly backdoor?: BackdoorRunHooks;
  /** Whether a backdoored checkpoint is cached (a quick run skips a task whose checkpoint is not); tests. */
  readonly isBackdoorCached?: (trigger: TriggerKind, seed: number) => boolean;
  /** A stand-in for `runCapabilityGap` (tests). */
  readonly runCapabilityGap?: (options: CapabilityGapOptions) => CapabilityGapResult;
}
