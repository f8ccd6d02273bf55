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

/** The shortest token accepted anywhere: 32 characters (128 bits as hex; minted tokens have 256 bits). */
export const MIN_TOKEN_CHARS = 32;
/** The longest bearer value looked up (minted tokens are 46 characters). */
const MAX_TOKEN_CHARS = 512;

/**
 * Why `token` is too weak to be an API token, or undefined when it is strong enough: at least 32 printable
 * ASCII characters without spaces (what a bearer header can carry), not a repetition of a few characters.
 */
export function tokenStrengthProblem(token: string): string | undefined {
  const how = "use at least 32 random characters (128 bits), e.g. $(openssl rand -hex 32)";
  if (token.length < MIN_TOKEN_CHARS) return `is ${token.length} character${token.length === 1 ? "" : "s"} long; ${how}`;
  if (token.length > MAX_TOKEN_CHARS) return `is ${token.length} characters long, more than ${MAX_TOKEN_CHARS}`;
  if (!/^[\x21-\x7e]+$/.test(token)) return `contains spaces, control or non-ASCII characters, which a bearer header cannot carry; ${how}`;
  if (new Set(token).size < 8) return `uses only ${new Set(token).size} distinct characters; ${how}`;
  return undefined;
}

/** The token record for an `Authorization` header value, or undefined when missing, unknown or revoked. */
export async function authenticate(store: MonitorStore, header: string | undefined, cache?: Map<string, TokenRecord>): Promise<TokenRecord | undefined> {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  // A value too short to be a token is refused without a lookup, so a weak token stored by an older version
  // (e.g. MADKIT_ADMIN_TOKEN=a) no longer opens anything.
  if (!m || m[1]!.length < MIN_TOKEN_CHARS || m[1]!.length > MAX_TOKEN_CHARS) return undefined;
  const hash = hashToken(m[1]!);
  let rec = cache?.get(hash);
  if (!rec) {
    rec = await store.tokenByHash(hash);
    if (rec && cache) cache.set(hash, rec);
  }
  return rec && rec.revokedAt === null ? rec : undefined;
}
