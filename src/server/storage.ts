// The monitor's storage contract, shared by the SQLite and Postgres back ends: flagged items (text, pooled
// activations, scores) waiting for review, reviewers' labels, hashed API tokens, and trained probes.
// One conformance suite (test/server/storage.test.ts) runs against every back end.

import { MadkitError } from "../errors.js";

export const LABELS = ["anomalous", "benign", "unsure"] as const;
export type Label = (typeof LABELS)[number];

export const ROLES = ["client", "reviewer", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** Pooled activations of one input: one float32 vector per hook. */
export type ItemActivations = Readonly<Record<string, Float32Array>>;

export interface NewItem {
  readonly text: string | null;
  readonly activations: ItemActivations;
  /** The scoring response as served (per-hook scores, combined, p-value, explanation, probe). */
  readonly scores: unknown;
  readonly combined: number;
  readonly pValue: number;
  readonly createdAt: number;
}

export interface StoredItem extends NewItem {
  readonly id: number;
  readonly label: Label | null;
  readonly note: string | null;
  readonly labelledAt: number | null;
  readonly labelledBy: string | null;
}

export interface TokenRecord {
  readonly id: number;
  readonly name: string;
  readonly role: Role;
  /** sha256 hex of the token; the token itself is never stored. */
  readonly hash: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** What revoking a token did: revoked it, found no active token of that id, or refused (the last admin). */
export type RevokeOutcome = "revoked" | "not-found" | "last-admin";

export interface ProbeRecord {
  readonly id: number;
  readonly createdAt: number;
  readonly state: string;
}

export interface Page {
  /** Only items with id greater than this (keyset paging). */
  readonly after?: number;
  readonly limit: number;
}

export interface MonitorStore {
  readonly kind: "sqlite" | "postgres";
  insertItem(item: NewItem): Promise<number>;
  getItem(id: number): Promise<StoredItem | undefined>;
  /** Unlabelled items, oldest first. */
  queue(page: Page): Promise<StoredItem[]>;
  queueDepth(): Promise<number>;
  /** Label (or relabel) an item; false when no item has this id. Durable when the promise resolves. */
  setLabel(id: number, label: Label, note: string | null, by: string, at: number): Promise<boolean>;
  /** Labelled items, oldest first. */
  labelled(page: Page): Promise<StoredItem[]>;
  addToken(name: string, role: Role, hash: string, at: number): Promise<number>;
  tokenByHash(hash: string): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  /**
   * Revoke an active token — unless it is the last active admin token, which would lock every admin out
   * (checked and written in one transaction, so two concurrent revocations cannot both pass).
   */
  revokeToken(id: number, at: number): Promise<RevokeOutcome>;
  saveProbe(state: string, at: number): Promise<number>;
  latestProbe(): Promise<ProbeRecord | undefined>;
  /** Highest applied migration version. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

/** Activations as JSON text: hook → base64 of the little-endian float32 bytes (compact, exact). */
export function encodeActivations(acts: ItemActivations): string {
  const out: Record<string, string> = {};
  for (const [hook, v] of Object.entries(acts)) out[hook] = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
  return JSON.stringify(out);
}

export function decodeActivations(json: string, what: string): ItemActivations {
  const raw = JSON.parse(json) as Record<string, string>;
  const out: Record<string, Float32Array> = {};
  for (const [hook, b64] of Object.entries(raw)) {
    const buf = Buffer.from(b64, "base64");
    if (buf.byteLength % 4 !== 0) throw new MadkitError("STORE_CORRUPT", `${what}: activations of '${hook}' are ${buf.byteLength} bytes, not a float32 multiple`);
    const copy = new Uint8Array(buf.byteLength);
    copy.set(buf);
    out[hook] = new Float32Array(copy.buffer);
  }
  return out;
}

export function isLabel(s: string): s is Label {
  return (LABELS as readonly string[]).includes(s);
}

export function isRole(s: string): s is Role {
  return (ROLES as readonly string[]).includes(s);
}
