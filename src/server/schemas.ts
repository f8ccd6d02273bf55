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
  /** Requests under /v1 in flight at once; more are answered 503 with Retry-After. */
  readonly maxConcurrent: number;
}

export const DEFAULT_LIMITS: ServiceLimits = {
  maxBodyBytes: 4 * 1024 * 1024,
  maxTextChars: 8_000,
  maxBatch: 64,
  requestTimeoutMs: 30_000,
  maxConcurrent: 256,
};

/**
 * An array of finite numbers, checked in one loop: zod's per-element z.number() costs about as much as
 * the detector on 1,536 values. The issue names the first bad index, like zod's own path would.
 */
const finiteNumbers = z.custom<number[]>((v) => Array.isArray(v), "expected an array of numbers").superRefine((v, ctx) => {
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
      activations: z.record(finiteNumbers).optional(),
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

export const queueQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  after: z.coerce.number().int().min(0).default(0),
});

export const trainRequestSchema = z.object({ l2: z.number().positive().finite().default(1) }).strict();

export const tokenRequestSchema = z.object({ name: z.string().min(1).max(200), role: z.enum(ROLES) }).strict();

export const idParamSchema = z.object({ id: z.coerce.number().int().positive() });

/** The first zod issue as "path: message". */
export function describeZodError(e: z.ZodError, prefix: string): string {
  const issue = e.issues[0];
  if (!issue) return `${prefix}: invalid`;
  const where = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("");
  return `${prefix}${where}: ${issue.message}`;
}
