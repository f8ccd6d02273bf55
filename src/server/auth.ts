// Bearer API tokens with roles. Roles nest: admin ⊇ reviewer ⊇ client (a reviewer may also score, an admin
// may do everything). Tokens are 32 random bytes shown once; only their sha256 is stored — a fast hash is
// enough for high-entropy secrets, unlike passwords.

import { createHash, randomBytes } from "node:crypto";
import type { Role, MonitorStore, TokenRecord } from "./storage.js";

const RANK: Readonly<Record<Role, number>> = { client: 0, reviewer: 1, admin: 2 };

export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function newToken(): string {
  return `mk_${randomBytes(32).toString("base64url")}`;
}

/** Create a token and return it in clear (the only time it is visible). */
export async function issueToken(store: MonitorStore, name: string, role: Role): Promise<{ id: number; token: string }> {
  const token = newToken();
  const id = await store.addToken(name, role, hashToken(token), Date.now());
  return { id, token };
}

/** The token record for an `Authorization` header value, or undefined when missing, unknown or revoked. */
export async function authenticate(store: MonitorStore, header: string | undefined, cache?: Map<string, TokenRecord>): Promise<TokenRecord | undefined> {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m) return undefined;
  const hash = hashToken(m[1]!);
  let rec = cache?.get(hash);
  if (!rec) {
    rec = await store.tokenByHash(hash);
    if (rec && cache) cache.set(hash, rec);
  }
  return rec && rec.revokedAt === null ? rec : undefined;
}
