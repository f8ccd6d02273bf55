// What every file-parser fuzz property checks about one call: it returns, or it throws a MadkitError whose
// message is clear (non-empty, names the file it read, within reason in length) — never a TypeError,
// RangeError or SyntaxError, never a hang (each test has a time limit), never a huge allocation (the heap's
// array buffers may not grow by more than a bound while the result is alive). And the shared mutators:
// byte mutations of a file and value mutations of a JSON document.

import assert from "node:assert/strict";
import fc from "fast-check";
import { MadkitError } from "../../src/errors.js";

/** Every fuzz property runs with this seed, so a failure reproduces; fast-check prints the counterexample. */
export const SEED = 42;

/** Allocation a parser may make beyond what it returns: files here are a few KiB, so 64 MiB is "huge". */
const MAX_GROWTH_BYTES = 64 * 1024 * 1024;

export interface CleanOutcome<T> {
  readonly value?: T;
  readonly error?: MadkitError;
}

/** Check a thrown value: a MadkitError with a clear message naming `mentions` (a file path), else rethrow. */
export function checkError(e: unknown, mentions: string | undefined, context: string): MadkitError {
  if (!(e instanceof MadkitError)) {
    const err = new Error(`${context}: expected a result or a MadkitError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    (err as { cause?: unknown }).cause = e;
    throw err;
  }
  assert.ok(e.message.trim().length > 0, `${context}: empty MadkitError message`);
  assert.ok(e.message.length < 4000, `${context}: a ${e.message.length}-character message is not a clear one: ${e.message.slice(0, 300)}…`);
  if (mentions !== undefined) assert.ok(e.message.includes(mentions), `${context}: message does not name ${mentions}: ${e.message}`);
  return e;
}

function arrayBuffers(): number {
  return process.memoryUsage().arrayBuffers;
}

/** Run `fn`: its value, or the MadkitError it threw (checked); anything else fails the property. */
export function outcome<T>(fn: () => T, mentions: string | undefined, context: string): CleanOutcome<T> {
  const before = arrayBuffers();
  try {
    const value = fn();
    const grew = arrayBuffers() - before;
    assert.ok(grew < MAX_GROWTH_BYTES, `${context}: array buffers grew by ${grew} bytes`);
    return { value };
  } catch (e) {
    return { error: checkError(e, mentions, context) };
  }
}

export async function outcomeAsync<T>(fn: () => Promise<T>, mentions: string | undefined, context: string): Promise<CleanOutcome<T>> {
  const before = arrayBuffers();
  try {
    const value = await fn();
    const grew = arrayBuffers() - before;
    assert.ok(grew < MAX_GROWTH_BYTES, `${context}: array buffers grew by ${grew} bytes`);
    return { value };
  } catch (e) {
    return { error: checkError(e, mentions, context) };
  }
}

// ---- byte mutations -------------------------------------------------------------------------------------

export type ByteMutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; value: number }
  | { kind: "truncate"; at: number }
  | { kind: "append"; bytes: Uint8Array }
  | { kind: "splice"; at: number; bytes: Uint8Array }
  | { kind: "u32"; at: number; value: number }
  | { kind: "u64"; at: number; value: bigint };

/** Integers a header field should never be trusted with. */
export const NASTY_INTS = [0, 1, -1, 2, 3, 7, 8, 255, 256, 65535, 65536, 2 ** 31 - 1, -(2 ** 31), 2 ** 24, 104_857_590, 100_000_001];
export const NASTY_U64 = [0n, 1n, 7n, 8n, 16n, 2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, 100_000_000n, 100_000_001n, 104_857_590n];

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("append" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }),
  fc.record({ kind: fc.constant("splice" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant("u32" as const), at: fc.nat(), value: fc.constantFrom(...NASTY_INTS) }),
  fc.record({ kind: fc.constant("u64" as const), at: fc.nat(), value: fc.constantFrom(...NASTY_U64) }),
);

/** Apply mutations in order; positions wrap around the current length. */
export function mutateBytes(input: Uint8Array, mutations: readonly ByteMutation[], headerBias = 0): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const pos = (at: number): number => (b.length === 0 ? 0 : headerBias > 0 && at % 2 === 0 ? at % Math.min(b.length, headerBias) : at % b.length);
    switch (m.kind) {
      case "flip":
        if (b.length > 0) b[pos(m.at)] ^= 1 << m.bit;
        break;
      case "set":
        if (b.length > 0) b[pos(m.at)] = m.value;
        break;
      case "truncate":
        b = b.subarray(0, b.length === 0 ? 0 : m.at % b.length);
        break;
      case "append":
        b = Buffer.concat([b, m.bytes]);
        break;
      case "splice": {
        const at = pos(m.at);
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      }
      case "u32":
        if (b.length >= 4) b.writeInt32LE(m.value | 0, pos(m.at) % (b.length - 3));
        break;
      case "u64":
        if (b.length >= 8) b.writeBigUInt64LE(m.value, pos(m.at) % (b.length - 7));
        break;
    }
  }
  return b;
}

// ---- JSON value mutations -------------------------------------------------------------------------------

/** Values JSON.stringify cannot write; spliced in as raw text. */
const RAW_NUMBERS = ["1e999", "-1e999", "1e-400", "123456789012345678901234567890", "-0", "0.5e1", "9007199254740993"];

/** Strings that a path, a name or a format field should never be trusted with. */
export const NASTY_STRINGS = [
  "",
  " ",
  "../../../../../etc/passwd",
  "/etc/passwd",
  "shards/../../../outside.safetensors",
  "..",
  "shards/",
  "C:\\Windows\\win.ini",
  "\\\\server\\share",
  "a\u0000b",
  "line\nbreak\u001b[31m",
  "__proto__",
  "constructor",
  "toString",
  "madkit-activations",
  "madkit-bundle",
  "madkit-detector",
  "F32",
  "hooks/000",
  "hooks/001",
  "hooks/999",
  "\uD800",
  "x".repeat(300),
];

export type JsonEdit =
  | { kind: "replace"; pick: number; value: unknown }
  | { kind: "raw"; pick: number; text: string }
  | { kind: "delete"; pick: number }
  | { kind: "duplicate"; pick: number };

export const nastyJsonValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(0, -1, 1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53, 1e9, 1e300, -1e300, null, true, false, [], {}, [0], [-1, 1], [1e9, 1e9]),
  fc.constantFrom(...NASTY_STRINGS),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 12 }),
  fc.jsonValue({ maxDepth: 2 }),
);

export const jsonEdit: fc.Arbitrary<JsonEdit> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("replace" as const), pick: fc.nat(), value: nastyJsonValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("raw" as const), pick: fc.nat(), text: fc.constantFrom(...RAW_NUMBERS) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), pick: fc.nat() }) },
);

type Path = (string | number)[];

function paths(v: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (at.length > 0) out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (typeof v === "object" && v !== null) for (const k of Object.keys(v)) paths((v as Record<string, unknown>)[k], [...at, k], out);
  return out;
}

function parentOf(root: unknown, p: Path): Record<string | number, unknown> {
  let cur = root as Record<string | number, unknown>;
  for (const k of p.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  return cur;
}

const RAW_MARK = "@@raw@@";

/** Apply edits to a JSON document (every node can be picked); returns the text to write. */
export function mutateJson(doc: unknown, edits: readonly JsonEdit[]): string {
  const root = structuredClone(doc);
  const raws: string[] = [];
  for (const e of edits) {
    const all = paths(root);
    if (all.length === 0) break;
    const p = all[e.pick % all.length]!;
    const parent = parentOf(root, p);
    const key = p[p.length - 1]!;
    switch (e.kind) {
      case "replace":
        parent[key] = structuredClone(e.value);
        break;
      case "raw":
        raws.push(e.text);
        parent[key] = `${RAW_MARK}${raws.length - 1}`;
        break;
      case "delete":
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key];
        break;
      case "duplicate":
        if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(parent[key]));
        // An own "__proto__" key (JSON.parse makes one from text) next to the value's copy.
        else Object.defineProperty(parent, "__proto__", { value: structuredClone(parent[key]), enumerable: true, writable: true, configurable: true });
        break;
    }
  }
  return JSON.stringify(root, null, 1).replace(new RegExp(`"${RAW_MARK}(\\d+)"`, "g"), (_, i: string) => raws[Number(i)]!);
}
