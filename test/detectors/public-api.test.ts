// The public API exports every registered detector: a factory per name that builds a spec of that kind, plus
// createDetector / loadDetector / detectorNames.

import assert from "node:assert/strict";
import { test } from "node:test";
import * as madkit from "../../src/index.js";

/** Registry name → exported factory name (camelCase of the kebab-case name). */
function factoryName(detector: string): string {
  return detector.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

test("every registered detector has an exported factory that builds a spec of that kind", () => {
  assert.ok(madkit.detectorNames.length >= 13);
  for (const name of madkit.detectorNames) {
    const factory = (madkit as unknown as Record<string, unknown>)[factoryName(name)];
    assert.equal(typeof factory, "function", `src/index.ts exports no '${factoryName(name)}' for detector '${name}'`);
    const spec = (factory as () => madkit.DetectorSpec)();
    assert.equal(spec.kind, name);
    assert.equal(madkit.createDetector(name).kind, name);
  }
  assert.equal(typeof madkit.loadDetector, "function");
});
