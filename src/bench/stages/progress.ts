// The run's one progress counter: every stage advances it and reports a label; the total is fixed by the plan
// stage (inputs to extract + one unit per detector × hook fit + the capability gap's share).

import type { BenchOptions, BenchProgress } from "../options.js";

export class ProgressMeter {
  /** Work units finished so far. */
  done = 0;

  constructor(
    readonly total: number,
    private readonly sink: BenchOptions["onProgress"],
  ) {}

  report(stage: BenchProgress["stage"], label: string): void {
    this.sink?.({ stage, label, done: this.done, total: this.total });
  }

  /** One more unit finished (a detector × hook fit). */
  step(): void {
    this.done++;
  }

  /** Everything finished: the counter reads total, and a last `done` line. */
  finish(): void {
    this.done = this.total;
    this.report("detect", "done");
  }
}
