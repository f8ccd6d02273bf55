// Postgres back end (node-postgres pool) for `--db postgres://...`: same tables and migrations as SQLite,
// migrations serialised across processes with an advisory lock. BIGINT columns come back as strings from
// pg, so rows are converted in one place (store-rows.ts, shared with SQLite).

import pg from "pg";
import { MadkitError } from "../errors.js";
import { itemFromRow, itemValues, pendingMigrations, probeFromRow, tokenFromRow } from "./store-rows.js";
import type { Label, MonitorStore, NewItem, Page, ProbeRecord, RevokeOutcome, Role, StoredItem, TokenRecord } from "./storage.js";

// Any 64-bit constant: the key of the migration lock.
const MIGRATION_LOCK = 7_341_982_211;
// Another: the key that serialises token revocations (the last admin token cannot be revoked).
const TOKEN_LOCK = 7_341_982_212;

export class PostgresStore implements MonitorStore {
  readonly kind = "postgres" as const;
  private constructor(private readonly pool: pg.Pool, private readonly where: string) {}

  static async open(url: string, poolSize = 8): Promise<PostgresStore> {
    const where = url.replace(/\/\/[^@/]*@/, "//***@");
    const pool = new pg.Pool({ connectionString: url, max: poolSize });
    pool.on("error", () => {}); // idle-client errors surface on the next query instead of crashing
    try {
      await migratePostgres(pool, where);
    } catch (e) {
      await pool.end();
      if (e instanceof MadkitError) throw e;
      throw new MadkitError("FILE_NOT_FOUND", `${where}: cannot open the Postgres database (${(e as Error).message})`);
    }
    return new PostgresStore(pool, where);
  }

  async insertItem(item: NewItem): Promise<number> {
    const r = await this.pool.query(
      "INSERT INTO items (created_at, text, activations, scores, combined, p_value) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
      itemValues(item),
    );
    return Number(r.rows[0].id);
  }

  async getItem(id: number): Promise<StoredItem | undefined> {
    const r = await this.pool.query("SELECT * FROM items WHERE id = $1", [id]);
    return r.rows[0] && itemFromRow(r.rows[0], this.where);
  }

  async queue(page: Page): Promise<StoredItem[]> {
    const r = await this.pool.query("SELECT * FROM items WHERE label IS NULL AND id > $1 ORDER BY id LIMIT $2", [page.after ?? 0, page.limit]);
    return r.rows.map((row) => itemFromRow(row, this.where));
  }

  async queueDepth(): Promise<number> {
    const r = await this.pool.query("SELECT count(*) AS n FROM items WHERE label IS NULL");
    return Number(r.rows[0].n);
  }

  async setLabel(id: number, label: Label, note: string | null, by: string, at: number): Promise<boolean> {
    const r = await this.pool.query("UPDATE items SET label = $1, note = $2, labelled_by = $3, labelled_at = $4 WHERE id = $5", [label, note, by, at, id]);
    return r.rowCount === 1;
  }

  async labelled(page: Page): Promise<StoredItem[]> {
    const r = await this.pool.query("SELECT * FROM items WHERE label IS NOT NULL AND id > $1 ORDER BY id LIMIT $2", [page.after ?? 0, page.limit]);
    return r.rows.map((row) => itemFromRow(row, this.where));
  }

  async addToken(name: string, role: Role, hash: string, at: number): Promise<number> {
    const r = await this.pool.query("INSERT INTO tokens (name, role, hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id", [name, role, hash, at]);
    return Number(r.rows[0].id);
  }

  async tokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const r = await this.pool.query("SELECT * FROM tokens WHERE hash = $1", [hash]);
    return r.rows[0] && tokenFromRow(r.rows[0]);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (await this.pool.query("SELECT * FROM tokens ORDER BY id")).rows.map(tokenFromRow);
  }

  async revokeToken(id: number, at: number): Promise<RevokeOutcome> {
    // One transaction under a transaction-scoped advisory lock: concurrent revocations (from any process)
    // run one after another, so two of them cannot each see the other admin still active.
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      try {
        await client.query("SELECT pg_advisory_xact_lock($1)", [TOKEN_LOCK]);
        const t = await client.query("SELECT role FROM tokens WHERE id = $1 AND revoked_at IS NULL", [id]);
        let outcome: RevokeOutcome = "revoked";
        if (t.rows.length === 0) outcome = "not-found";
        else if (t.rows[0].role === "admin") {
          const n = Number((await client.query("SELECT count(*) AS n FROM tokens WHERE role = 'admin' AND revoked_at IS NULL")).rows[0].n);
          if (n <= 1) outcome = "last-admin";
        }
        if (outcome === "revoked") await client.query("UPDATE tokens SET revoked_at = $1 WHERE id = $2", [at, id]);
        await client.query("COMMIT");
        return outcome;
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {});
        throw e;
      }
    } finally {
      client.release();
    }
  }

  async saveProbe(state: string, at: number): Promise<number> {
    const r = await this.pool.query("INSERT INTO probes (created_at, state) VALUES ($1, $2) RETURNING id", [at, state]);
    return Number(r.rows[0].id);
  }

  async latestProbe(): Promise<ProbeRecord | undefined> {
    const r = await this.pool.query("SELECT id, created_at, state FROM probes ORDER BY id DESC LIMIT 1");
    return r.rows[0] && probeFromRow(r.rows[0]);
  }

  async schemaVersion(): Promise<number> {
    return Number((await this.pool.query("SELECT max(version) AS v FROM schema_migrations")).rows[0].v);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

async function migratePostgres(pool: pg.Pool, where: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
    const current = Number((await client.query("SELECT coalesce(max(version), 0) AS v FROM schema_migrations")).rows[0].v);
    for (const m of pendingMigrations(current, where)) {
      await client.query("BEGIN");
      try {
        for (const sql of m.postgres) await client.query(sql);
        await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [m.version, Date.now()]);
        await client.query("COMMIT");
      } catch (e) {
        await client.query("ROLLBACK");
        throw e;
      }
    }
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => {});
    client.release();
  }
}
