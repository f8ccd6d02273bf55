// What the SQLite and Postgres stores share above their SQL: the rows both read back and their conversion
// to the store contract (pg returns BIGINT columns as strings, so ids and times pass through Number()), the
// column values of a new item in insert order, and which migrations a database still needs.

import { MadkitError } from "../errors.js";
import { MIGRATIONS, type Migration } from "./migrations.js";
import { decodeActivations, encodeActivations, type Label, type NewItem, type ProbeRecord, type Role, type StoredItem, type TokenRecord } from "./storage.js";

export interface ItemRow {
  id: number;
  created_at: number;
  text: string | null;
  activations: string;
  scores: string;
  combined: number;
  p_value: number;
  label: string | null;
  note: string | null;
  labelled_at: number | null;
  labelled_by: string | null;
}

export interface TokenRow {
  id: number;
  name: string;
  role: string;
  hash: string;
  created_at: number;
  revoked_at: number | null;
}

export interface ProbeRow {
  id: number;
  created_at: number;
  state: string;
}

export function itemFromRow(r: ItemRow, where: string): StoredItem {
  return {
    id: Number(r.id),
    createdAt: Number(r.created_at),
    text: r.text,
    activations: decodeActivations(r.activations, `${where} item ${r.id}`),
    scores: JSON.parse(r.scores) as unknown,
    combined: r.combined,
    pValue: r.p_value,
    label: r.label as Label | null,
    note: r.note,
    labelledAt: r.labelled_at === null ? null : Number(r.labelled_at),
    labelledBy: r.labelled_by,
  };
}

export function tokenFromRow(r: TokenRow): TokenRecord {
  return {
    id: Number(r.id),
    name: r.name,
    role: r.role as Role,
    hash: r.hash,
    createdAt: Number(r.created_at),
    revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
  };
}

export function probeFromRow(r: ProbeRow): ProbeRecord {
  return { id: Number(r.id), createdAt: Number(r.created_at), state: r.state };
}

/** (created_at, text, activations, scores, combined, p_value): the values of an items INSERT, in that order. */
export function itemValues(item: NewItem): [number, string | null, string, string, number, number] {
  return [item.createdAt, item.text, encodeActivations(item.activations), JSON.stringify(item.scores), item.combined, item.pValue];
}

/** The migrations above `current`; VERSION_MISMATCH when the database is newer than this madkit knows. */
export function pendingMigrations(current: number, where: string): Migration[] {
  const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
  if (current > latest) {
    throw new MadkitError("VERSION_MISMATCH", `${where}: database schema version ${current} is newer than this madkit knows (${latest}); upgrade madkit`);
  }
  return MIGRATIONS.filter((m) => m.version > current);
}
