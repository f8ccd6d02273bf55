// The OpenAPI 3.0 description of the monitor API, served at /openapi.json. Written by hand from the same
// limits and hooks the routes use; test/server/openapi.test.ts checks that its paths and methods are exactly
// the app's routes and that its examples pass the routes' validators.

import type { BundleHook } from "../bundle/bundle.js";
import type { ServiceLimits } from "./schemas.js";
import { LABELS, ROLES } from "./storage.js";

const error = { $ref: "#/components/responses/Error" };
const json = (schema: object) => ({ content: { "application/json": { schema } } });
const auth = { "401": error, "403": error };

/** A /v1 operation: bearer token of `role`; 429 past the token's rate; 415 for a body that is not JSON. */
function secured(role: string, op: Record<string, unknown>): Record<string, unknown> {
  return {
    security: [{ bearer: [] }],
    "x-required-role": role,
    ...op,
    responses: { ...(op.responses as object), ...auth, "400": error, "429": error, "503": error, ...(op.requestBody ? { "413": error, "415": error } : {}) },
  };
}

// Long by design: one data literal (the OpenAPI schemas and paths), read top to bottom against the routes; splitting it would scatter the document.
export function openApiDocument(limits: ServiceLimits, hooks: readonly BundleHook[]): Record<string, unknown> {
  const activations = {
    type: "object",
    description: `one pooled vector per hook: ${hooks.map((h) => `${h.name} (${h.dim})`).join(", ")}`,
    additionalProperties: {
      oneOf: [
        { type: "array", items: { type: "number" } },
        { type: "string", format: "byte", description: "base64 of packed little-endian float32 values (4 bytes per value): about a quarter of the bytes of a number array and much faster to read" },
      ],
    },
    example: Object.fromEntries(hooks.map((h) => [h.name, new Array(h.dim).fill(0)])),
  };
  const recordFlag = { type: "boolean", default: true, description: "false: score only, store and count nothing (calibration, evaluation); needs role reviewer" };
  const scoreInput = {
    type: "object",
    additionalProperties: false,
    properties: { text: { type: "string", minLength: 1, maxLength: limits.maxTextChars }, activations, record: recordFlag },
    description: "exactly one of text or activations (`record` only at the top level of a request)",
  };
  const idParam = { name: "id", in: "path", required: true, schema: { type: "integer", minimum: 1 } };
  return {
    openapi: "3.0.3",
    info: { title: "madkit monitor", version: "1", description: "Score inputs with an anomaly-detector bundle, queue flagged ones for review, keep labels, train a probe." },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: `roles: ${ROLES.join(" < ")} (each includes the ones before)` } },
      responses: {
        Error: json({
          type: "object",
          properties: { error: { type: "object", properties: { code: { type: "string" }, message: { type: "string" } }, required: ["code", "message"] } },
        }),
      },
      schemas: {
        ScoreInput: scoreInput,
        ScoreRequest: {
          oneOf: [
            { $ref: "#/components/schemas/ScoreInput" },
            {
              type: "object",
              additionalProperties: false,
              required: ["items"],
              properties: { items: { type: "array", minItems: 1, maxItems: limits.maxBatch, items: { $ref: "#/components/schemas/ScoreInput" } }, record: recordFlag },
            },
          ],
        },
        ScoreResult: {
          type: "object",
          required: ["perHook", "combined", "pValue", "threshold", "alpha", "flagged", "explanation", "unknownTokens", "unknownShare"],
          properties: {
            perHook: {
              type: "object",
              additionalProperties: { type: "number", nullable: true },
              description: "each hook detector's score; null where it is not a finite number (the detector could not measure the input: see failClosed)",
            },
            combined: { type: "number", nullable: true, description: "null for +Infinity: a hook score was not finite, the most anomalous verdict (fail closed)" },
            pValue: { type: "number", description: "conformal p-value; its minimum, 1/(n + 1), when combined is null" },
            threshold: { type: "number", nullable: true },
            alpha: { type: "number" },
            flagged: { type: "boolean", description: "pValue ≤ alpha, or a fail-closed rule applied (failClosed)" },
            explanation: {},
            probe: { type: "object", properties: { score: { type: "number" }, id: { type: "integer" } } },
            itemId: { type: "integer", description: "present when flagged: the queued item" },
            truncated: { type: "boolean" },
            unknownTokens: { type: "integer", nullable: true, description: "text inputs: tokens of the text the model's tokenizer could not read (0 for byte-fallback tokenizers); null for activations" },
            unknownShare: {
              type: "number",
              minimum: 0,
              maximum: 1,
              nullable: true,
              description: "text inputs: share of the text's visible characters the model could not read (1: none of it); null for activations",
            },
            failClosed: {
              type: "array",
              description: "present when the input is flagged whatever its p-value: NON_FINITE_SCORE (a hook score was not finite; hooks names them) or UNREADABLE_TEXT (unknownShare above the service's limit, or nothing readable)",
              items: {
                type: "object",
                required: ["code", "message"],
                properties: { code: { type: "string", enum: ["NON_FINITE_SCORE", "UNREADABLE_TEXT"] }, message: { type: "string" }, hooks: { type: "array", items: { type: "string" } } },
              },
            },
          },
        },
        Item: {
          type: "object",
          properties: {
            id: { type: "integer" },
            createdAt: { type: "string", format: "date-time" },
            text: { type: "string", nullable: true },
            scores: { $ref: "#/components/schemas/ScoreResult" },
            combined: { type: "number", nullable: true },
            pValue: { type: "number" },
            label: { type: "string", enum: [...LABELS], nullable: true },
            note: { type: "string", nullable: true },
          },
        },
      },
    },
    paths: {
      "/healthz": { get: { summary: "liveness and configuration", responses: { "200": json({ type: "object" }) } } },
      "/metrics": { get: { summary: "Prometheus metrics", responses: { "200": { content: { "text/plain": { schema: { type: "string" } } } } } } },
      "/openapi.json": { get: { summary: "this document", responses: { "200": json({ type: "object" }) } } },
      "/": { get: { summary: "the reviewer web page", responses: { "200": { content: { "text/html": { schema: { type: "string" } } } } } } },
      "/v1/score": {
        post: secured("client", {
          summary: "score one input or a batch; flagged inputs are queued",
          description:
            "The model and the detectors run in worker threads. Past the service's time limit the answer is 504, the work is cancelled and nothing of the request is stored. " +
            "Fail closed: an input a detector cannot measure, or text the model cannot read, is flagged with a reason in failClosed.",
          requestBody: { required: true, ...json({ $ref: "#/components/schemas/ScoreRequest" }) },
          responses: {
            "200": json({ oneOf: [{ $ref: "#/components/schemas/ScoreResult" }, { type: "object", properties: { results: { type: "array", items: { $ref: "#/components/schemas/ScoreResult" } } } }] }),
            "413": error,
            "504": error,
          },
        }),
      },
      "/v1/queue": {
        get: secured("reviewer", {
          summary: "unlabelled flagged items, oldest first (keyset paging)",
          parameters: [
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 50 } },
            { name: "after", in: "query", schema: { type: "integer", minimum: 0, default: 0 }, description: "only items with a larger id" },
          ],
          responses: {
            "200": json({
              type: "object",
              properties: { items: { type: "array", items: { $ref: "#/components/schemas/Item" } }, depth: { type: "integer" }, next: { type: "string", nullable: true } },
            }),
          },
        }),
      },
      "/v1/items/{id}": { get: secured("reviewer", { summary: "one item", parameters: [idParam], responses: { "200": json({ $ref: "#/components/schemas/Item" }), "404": error } }) },
      "/v1/items/{id}/label": {
        post: secured("reviewer", {
          summary: "label (or relabel) an item",
          parameters: [idParam],
          requestBody: {
            required: true,
            ...json({ type: "object", additionalProperties: false, required: ["label"], properties: { label: { type: "string", enum: [...LABELS] }, note: { type: "string", nullable: true, maxLength: 4000 } } }),
          },
          responses: { "200": json({ type: "object" }), "404": error },
        }),
      },
      "/v1/items/import": {
        post: secured("reviewer", {
          summary: "store items labelled elsewhere (an initial labelled set, audits, user reports) with their label, without the review queue",
          description: "Each item has text, activations or both (activations are used when given; the text is then kept for reviewers). Scored like /v1/score, stored labelled; not counted as scored traffic.",
          requestBody: {
            required: true,
            ...json({
              type: "object",
              additionalProperties: false,
              required: ["items"],
              properties: {
                items: {
                  type: "array",
                  minItems: 1,
                  maxItems: limits.maxBatch,
                  items: {
                    type: "object",
                    additionalProperties: false,
                    required: ["label"],
                    properties: { text: { type: "string", minLength: 1, maxLength: limits.maxTextChars }, activations, label: { type: "string", enum: [...LABELS] }, note: { type: "string", nullable: true, maxLength: 4000 } },
                  },
                },
              },
            }),
          },
          responses: { "200": json({ type: "object", properties: { items: { type: "array", items: { type: "object", properties: { id: { type: "integer" }, label: { type: "string" } } } } } }) },
        }),
      },
      "/v1/export": {
        get: secured("reviewer", { summary: "labelled items as JSONL (text, label, note, scores, pooled activations)", responses: { "200": { content: { "application/x-ndjson": { schema: { type: "string" } } } } } }),
      },
      "/v1/probe/train": {
        post: secured("admin", {
          summary: "fit an L2 logistic-regression probe on labelled items (anomalous vs benign); /v1/score then reports it",
          description:
            "Fitted in a worker thread; one at a time. 409 UNTRAINABLE_ITEMS names labelled items it cannot learn from (activations not finite, or flagged because a detector could not measure them: label them 'unsure'); " +
            "409 DEGENERATE_PROBE when the fit gives every labelled item the same score (not installed); 409 CONFLICT while another fit runs; 504 past the time limit (nothing installed).",
          requestBody: { required: false, ...json({ type: "object", additionalProperties: false, properties: { l2: { type: "number", exclusiveMinimum: true, minimum: 0, default: 1 }, hooks: { type: "array", minItems: 1, maxItems: 64, items: { type: "string", enum: hooks.map((h) => h.name) }, description: "bundle hooks the probe reads (default: all)" } } }) },
          responses: { "200": json({ type: "object" }), "409": error, "504": error },
        }),
      },
      "/v1/probe": { get: secured("reviewer", { summary: "the current probe, or null", responses: { "200": json({ type: "object" }) } }) },
      "/v1/tokens": {
        post: secured("admin", {
          summary: "create a token (shown once)",
          requestBody: { required: true, ...json({ type: "object", additionalProperties: false, required: ["name", "role"], properties: { name: { type: "string" }, role: { type: "string", enum: [...ROLES] } } }) },
          responses: { "201": json({ type: "object", properties: { id: { type: "integer" }, token: { type: "string" } } }) },
        }),
        get: secured("admin", { summary: "list tokens (never their secrets)", responses: { "200": json({ type: "object" }) } }),
      },
      "/v1/tokens/{id}": {
        delete: secured("admin", { summary: "revoke a token (409 for the last active admin token)", parameters: [idParam], responses: { "200": json({ type: "object" }), "404": error, "409": error } }),
      },
    },
  };
}
