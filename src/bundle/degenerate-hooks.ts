// A hook whose trusted rows collapse inputs that the data tell apart is refused at fit, naming it. A positional
// embedding pooled over tokens is a function of length alone: its rows repeat, a density detector on repeated
// rows sees infinite densities (LOF's reachability distances are 0), and the combined threshold either flags
// ordinary inputs by the dozen or nothing at all. Counting distinct rows is exact and cheap.

import { MadkitError } from "../errors.js";
import type { Matrix } from "../linalg/matrix.js";

/**
 * A hook is degenerate when it tells apart fewer than this share of the inputs the most varied hook tells apart
 * (or, fitted alone, of its trusted rows): half of the distinct inputs merged into the same vector is not
 * rounding, it is a hook that does not read them.
 */
export const MIN_DISTINCT_SHARE = 0.5;

/** How many different rows `rows` of `m` hold (bit-exact comparison of the float values). */
export function distinctRows(m: Matrix, rows: ArrayLike<number>): number {
  const seen = new Set<string>();
  const bytes = new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength);
  const width = m.cols * m.data.BYTES_PER_ELEMENT;
  const decoder = new TextDecoder("latin1");
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    seen.add(decoder.decode(bytes.subarray(r * width, (r + 1) * width)));
  }
  return seen.size;
}

export interface HookVariety {
  readonly name: string;
  /** Distinct vectors among the trusted rows the detector is fitted on. */
  readonly distinct: number;
}

/**
 * Throws DEGENERATE_HOOK for the first hook whose distinct rows fall below MIN_DISTINCT_SHARE of the most varied
 * hook's (or of `nRows` when it is the only hook), or that holds a single vector.
 */
export function checkHooksVary(hooks: readonly HookVariety[], nRows: number, where: string): void {
  const most = hooks.reduce((a, h) => (h.distinct > a.distinct ? h : a), hooks[0]!);
  const reference = hooks.length > 1 ? most.distinct : nRows;
  for (const h of hooks) {
    if (h.distinct > 1 && h.distinct >= MIN_DISTINCT_SHARE * reference) continue;
    const against = hooks.length > 1 ? `'${most.name}' tells ${most.distinct} apart` : `it is fitted on ${nRows} inputs`;
    throw new MadkitError(
      "DEGENERATE_HOOK",
      `${where}: hook '${h.name}' holds only ${h.distinct} distinct vector(s) among its ${nRows} trusted rows while ${against}; ` +
        "it does not vary with the input's content (a positional embedding pooled over tokens is a function of length alone), " +
        "so its detector scores and the bundle's threshold would be meaningless — leave it out with --hooks" +
        (hooks.length > 1 ? ` (e.g. ${hooks.filter((x) => x !== h).map((x) => x.name).join(",")})` : ""),
    );
  }
}
