// Flag parsers shared by the commands: each names the flag and the value it could not accept, and
// commander reports the failure like any other bad argument (exit 1, no stack).

import { InvalidArgumentError } from "commander";
import type { Shard } from "../activations/store-layout.js";

/** Decimal digits only: `Number()` would also take '0x10', '1e3', '' and ' 7 '. */
export function intFlag(min = 1, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(max === Number.MAX_SAFE_INTEGER ? `expected an integer >= ${min}, got '${value}'` : `expected an integer in [${min}, ${max}], got '${value}'`);
    }
    return n;
  };
}

/** A share in [0, 1], written as a plain decimal. */
export function unitIntervalFlag(value: string): number {
  const n = /^(0|1|0?\.\d+|1\.0*)$/.test(value.trim()) ? Number(value) : NaN;
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`expected a number in [0, 1], got '${value}'`);
  return n;
}

export function numberFlag(min = 0): (value: string) => number {
  return (value: string) => {
    const n = value.trim() === "" ? NaN : Number(value);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`expected a number >= ${min}, got '${value}'`);
    return n;
  };
}

export function choiceFlag<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string) => {
    if ((choices as readonly string[]).includes(value)) return value as T;
    throw new InvalidArgumentError(`expected one of ${choices.join(", ")}, got '${value}'`);
  };
}

/** `i/n` with 0 <= i < n: this process keeps inputs whose index ≡ i (mod n). */
export function shardFlag(value: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new InvalidArgumentError(`expected i/n with 0 <= i < n (e.g. 0/4), got '${value}'`);
  return { index, count };
}
