// Flag parsers shared by the commands: each names the flag and the value it could not accept, and
// commander reports the failure like any other bad argument (exit 1, no stack).

import { InvalidArgumentError } from "commander";
import type { Shard } from "../activations/store-layout.js";

export function intFlag(min = 1): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got '${value}'`);
    return n;
  };
}

export function numberFlag(min = 0): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
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
