// Dynamic batching for the score route: inputs whose requests are parsed in the same event-loop turn are
// scored together at the next setImmediate, one matrix per hook, so concurrent clients share one gemm per
// detector instead of paying for one each. A lone request waits only for the end of the current turn (no
// timer), so batching adds no latency at low load; under load, batches grow by themselves.

import type { MonitorScorer, ScoreResult } from "./scorer.js";
import type { ItemActivations } from "./storage.js";

interface Pending {
  readonly inputs: readonly ItemActivations[];
  readonly truncated: readonly boolean[];
  readonly resolve: (r: ScoreResult[]) => void;
  readonly reject: (e: unknown) => void;
}

export class ScoreBatcher {
  private pending: Pending[] = [];
  private rows = 0;
  private scheduled = false;

  constructor(
    private readonly scorer: MonitorScorer,
    /** A batch this large is scored at once rather than at the end of the turn. */
    private readonly maxRows = 256,
  ) {}

  /** Scores of `inputs` (already checked against the bundle), in order. */
  score(inputs: readonly ItemActivations[], truncated: readonly boolean[]): Promise<ScoreResult[]> {
    return new Promise((resolve, reject) => {
      this.pending.push({ inputs, truncated, resolve, reject });
      this.rows += inputs.length;
      if (this.rows >= this.maxRows) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.rows = 0;
    let all: ScoreResult[];
    try {
      all = this.run(batch.flatMap((b) => b.inputs), batch.flatMap((b) => b.inputs.map((_, i) => b.truncated[i] ?? false)));
    } catch {
      // One request's failure must not fail its neighbours: score each on its own, each with its own outcome.
      for (const b of batch) {
        try {
          b.resolve(this.run(b.inputs, b.truncated));
        } catch (e) {
          b.reject(e);
        }
      }
      return;
    }
    let at = 0;
    for (const b of batch) {
      b.resolve(all.slice(at, at + b.inputs.length));
      at += b.inputs.length;
    }
  }

  private run(inputs: readonly ItemActivations[], truncated: readonly boolean[]): ScoreResult[] {
    const out = this.scorer.scoreMany(inputs, truncated);
    this.scorer.metrics.scoreBatches++;
    this.scorer.metrics.scoreBatchRows += out.length;
    return out;
  }
}
