// Stage 6, analyse: for each selection of a unit, while its model is still open, the failure analysis of the test
// split (missed anomalies, false alarms, the modes they fall into; eval/failure-modes.ts) and per-token views of
// the examples (token-spans.ts), so a reviewer sees where in an input the evidence sits.

import { characteriseFailures } from "../../eval/failure-modes.js";
import type { FailureExample, FailureMode } from "../../results/contract.js";
import { SELECTION_ALPHA } from "../selection.js";
import { exampleTokenViews } from "../token-spans.js";
import { scoreKey } from "./evaluate-stage.js";
import type { AnalysedUnit, EvaluatedUnit, ExtractedUnit, SelectedUnit, StageContext } from "./hand-offs.js";

export async function analyseStage(x: ExtractedUnit, ev: EvaluatedUnit, sel: SelectedUnit, { run, progress }: StageContext): Promise<AnalysedUnit> {
  const failureModes: FailureMode[] = [];
  const examples: FailureExample[] = [];
  for (const s of sel.selections) {
    const ts = ev.testScores.get(scoreKey(s.task, s.model, s.detector, s.hook));
    if (!ts || !Number.isFinite(ts.threshold)) continue;
    const analysis = characteriseFailures({
      task: s.task,
      model: s.model,
      detector: s.detector,
      hook: s.hook,
      items: ts.items.map((it, i) => ({ id: it.id, text: it.text, label: it.label, family: it.family, group: it.group, tokens: ts.tokens[i]! })),
      scores: ts.scores,
      threshold: ts.threshold,
      truePositives: 3,
    });
    progress.report("detect", `${s.task} × ${x.unit.model}: per-token views of ${s.detector}'s examples`);
    const view = await exampleTokenViews(
      {
        source: x.model.source,
        planned: run.plan.detectors.find((d) => d.name === s.detector),
        selection: s,
        // Only this unit's records can share the selection's task and model.
        records: ev.records,
        fitTexts: x.task.trusted.fit.map((r) => r.text),
        calibrationTexts: x.task.trusted.calibration.map((r) => r.text),
        alpha: SELECTION_ALPHA,
        seed: run.plan.seed,
      },
      [...analysis.examples, ...analysis.modes.flatMap((m) => m.examples)],
    );
    failureModes.push(...analysis.modes.map((m) => ({ ...m, examples: m.examples.map(view) })));
    examples.push(...analysis.examples.map(view));
  }
  return { failureModes, examples };
}
