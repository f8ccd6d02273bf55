// madkit serve's own flag parsers: a share in [0, 1] written as a plain decimal, nothing else.

import assert from "node:assert/strict";
import { test } from "node:test";
import { unitIntervalFlag } from "../../src/cli/flags.js";

test("--max-unknown-share takes 0, 1 and plain decimals between, and refuses anything else naming the range", () => {
  for (const [text, value] of [["0", 0], ["1", 1], ["0.5", 0.5], [".25", 0.25], ["1.00", 1], [" 0.75 ", 0.75]] as const) {
    assert.equal(unitIntervalFlag(text), value, text);
  }
  for (const text of ["1.5", "-0.1", "", "0x1", "1e-1", "NaN", "Infinity", "half", "2"]) {
    assert.throws(() => unitIntervalFlag(text), /expected a number in \[0, 1\], got/, text);
  }
});
