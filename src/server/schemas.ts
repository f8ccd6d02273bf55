// Request and response shapes of the monitor API as zod schemas: the routes validate with them and the
// OpenAPI document is written from the same limits, so the two cannot drift apart silently.

import { z } from "zod";
import { LABELS, ROLES } from "./storage.js";

export interface ServiceLimits {
  /** Largest request body accepted, bytes (413 above). */
  readonly maxBodyBytes: number;
  /** Longest `text`, characters. */
  readonly maxTextChars: number;
  /** Most inputs in one batch request. */
  readonly maxBatch: number;
  /** A request running longer is answered 504. */
  readonly requestTimeoutMs: number;
  /** Requests under /v1 in flight at once (authenticated ones only); more are answered 503 with Retry-After. */
  readonly maxConcurrent: number;
  /** Sustained requests per second per token (a token bucket); beyond it 429 with Retry-After. 0: no limit. */
  readonly ratePerToken: number;
  /** Requests a token may send at once before `ratePerToken` applies (the bucket's size). */
  readonly burstPerToken: number;
  /** Unlabelled items in the review queue at which POST /v1/score is answered 429 (fail closed). 0: no cap. */
  readonly maxQueue: number;
}

export const DEFAULT_LIMITS: ServiceLimits = {
  maxBodyBytes: 4 * 1024 * 1024,
  maxTextChars: 8_000,
  maxBatch: 64,
  requestTimeoutMs: 30_000,
  maxConcurrent: 256,
  ratePerToken: 1_000,
  burstPerToken: 2_000,
  maxQueue: 10_000,
};

/** Standard base64 (RFC 4648 §4, padded): the encoding of a packed little-endian float32 vector. */
const BASE64_ALPHABET = new Uint8Array(128);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") BASE64_ALPHABET[ch.charCodeAt(0)] = 1;

/** True for padded standard base64 (a char-code loop: the equivalent regular expression took ~25x longer on 2.7 KB strings in a CPU profile). */
function isBase64(s: string): boolean {
  if (s.length % 4 !== 0) return false;
  let end = s.length;
  if (end > 0 && s.charCodeAt(end - 1) === 61) end--;
  if (end > 0 && s.charCodeAt(end - 1) === 61) end--;
  if (s.length - end > 0 && end % 4 < 2) return false;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || BASE64_ALPHABET[c] === 0) return false;
  }
  return true;
}

/**
 * One hook's vector: an array of finite numbers, or base64 of packed little-endian float32 values (numpy:
 * `base64.b64encode(x.astype('<f4').tobytes())`): 8.3 KB instead of 30 KB for 3 x 512 values, read in
 * 9 µs instead of 145 µs. Arrays are
 * checked in one loop (zod's per-element z.number() costs about as much as the detector on 1,536 values)
 * and the issue names the first bad index, like zod's own path would. Widths, and finiteness of packed
 * values, are checked where the bundle's hooks are known (MonitorScorer.checkActivations).
 */
const activationVector = z.custom<number[] | string>((v) => Array.isArray(v) || typeof v === "string", "expected an array of numbers or a base64 string of little-endian float32 values").superRefine((v, ctx) => {
  if (typeof v === "string") {
    if (!isBase64(v)) ctx.addIssue({ code: z.ZodIssueCode.custom, message: "expected base64 (A-Z a-z 0-9 + /, padded with =) of little-endian float32 values" });
    return;
  }
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== "number" || !Number.isFinite(x)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: [i], message: `expected a finite number, got ${JSON.stringify(x) ?? String(x)}` });
      return;
    }
  }
});

export function scoreInputSchema(limits: ServiceLimits) {
  return z
    .object({
      text: z.string().min(1, "text must not be empty").max(limits.maxTextChars, `text is longer than ${limits.maxTextChars} characters`).optional(),
      activations: z.record(activationVector).optional(),
    })
    .strict()
    .refine((v) => (v.text === undefined) !== (v.activations === undefined), "give exactly one of `text` or `activations`");
}

/** One input (`text` or `activations`), or a batch `{items: [...]}`. */
export function scoreRequestSchema(limits: ServiceLimits) {
  const one = scoreInputSchema(limits);
  return z
    .object({
      text: z.unknown().optional(),
      activations: z.unknown().optional(),
      items: z.array(one).min(1, "items must not be empty").max(limits.maxBatch, `at most ${limits.maxBatch} items per batch`).optional(),
      /** false: score only, store nothing (calibration, evaluation); needs role reviewer. Default true. */
      record: z.boolean().optional(),
    })
    .strict()
    .superRefine((v, ctx) => {
      if (v.items !== undefined) {
        if (v.text !== undefined || v.activations !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: "a batch has only `items`" });
        return;
      }
      const r = one.safeParse({ text: v.text, activations: v.activations });
      if (!r.success) for (const issue of r.error.issues) ctx.addIssue(issue);
    });
}

export const labelRequestSchema = z
  .object({
    label: z.enum(LABELS),
    note: z.string().max(4000, "note is longer than 4000 characters").nullable().optional(),
  })
  .strict();

/**
 * A decimal integer written out in digits only, in [min, max]: z.coerce.number() would also take "0x10",
 * " 1", "1e2", "" (as 0) and "-0", so an id or a cursor could mean something else than what was typed.
 */
export function strictInt(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z
    .string({ invalid_type_error: "expected one decimal integer" })
    .regex(/^[0-9]{1,16}$/, "expected a decimal integer (digits only)")
    .transform(Number)
    .refine((n) => n >= min && n <= max, `expected an integer in [${min}, ${max}]`);
}

export const queueQuerySchema = z.object({
  limit: strictInt(1, 500).default("50"),
  after: strictInt(0).default("0"),
});

/**
 * `l2` (default 1); `hooks`: the bundle hooks the probe reads (default all of them), e.g. only the sentence
 * embedding, which is cheaper to fit (the Newton step solves a (width + 1)² system).
 */
export const trainRequestSchema = z
  .object({
    l2: z.number().positive().finite().default(1),
    hooks: z.array(z.string().min(1, "a hook name must not be empty")).min(1, "hooks must not be empty").max(64).optional(),
  })
  .strict();

/**
 * POST /v1/items/import: items labelled elsewhere (an initial labelled set, audits, user reports) stored with
 * their label without passing through the review queue. Each has `text`, `activations` or both: activations
 * are used when given (the text is then kept for reviewers only), else the model runs on the text.
 */
export function importRequestSchema(limits: ServiceLimits) {
  const item = z
    .object({
      text: z.string().min(1, "text must not be empty").max(limits.maxTextChars, `text is longer than ${limits.maxTextChars} characters`).optional(),
      activations: z.record(activationVector).optional(),
      label: z.enum(LABELS),
      note: z.string().max(4000, "note is longer than 4000 characters").nullable().optional(),
    })
    .strict()
    .refine((v) => v.text !== undefined || v.activations !== undefined, "give `text`, `activations` or both");
  return z
    .object({ items: z.array(item).min(1, "items must not be empty").max(limits.maxBatch, `at most ${limits.maxBatch} items per import request`) })
    .strict();
}

export const tokenRequestSchema = z.object({ name: z.string().min(1).max(200), role: z.enum(ROLES) }).strict();

export const idParamSchema = z.object({ id: strictInt(1) });

/** The first zod issue as "path: message". */
export function describeZodError(e: z.ZodError, prefix: string): string {
  const issue = e.issues[0];
  if (!issue) return `${prefix}: invalid`;
  const where = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("");
  return `${prefix}${where}: ${issue.message}`;
}
