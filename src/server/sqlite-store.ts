// SQLite back end (better-sqlite3, synchronous calls behind the async contract): WAL journal, so readers
// never block the writer, and synchronous=NORMAL, under which a committed transaction survives a killed
// process (only a power loss can drop the last commits); migrations applied on open.

import Database from "better-sqlite3";
import { MadkitError } from "../errors.js";
import { itemFromRow, itemValues, pendingMigrations, probeFromRow, tokenFromRow, type ItemRow, type ProbeRow, type TokenRow } from "./store-rows.js";
import type { Label, MonitorStore, NewItem, Page, ProbeRecord, RevokeOutcome, Role, StoredItem, TokenRecord } from "./storage.js";

export class SqliteStore implements MonitorStore {
  readonly kind = "sqlite" as const;
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(readonly file: string) {
    try {
      this.db = new Database(file);
    } catch (e) {
      throw new MadkitError("FILE_NOT_FOUND", `${file}: cannot open the SQLite database (${(e as Error).message})`);
    }
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("foreign_keys = ON");
    migrateSqlite(this.db, file);
    const db = this.db;
    this.stmts = {
      insert: db.prepare(
        "INSERT INTO items (created_at, text, activations, scores, combined, p_value) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      get: db.prepare("SELECT * FROM items WHERE id = ?"),
      queue: db.prepare("SELECT * FROM items WHERE label IS NULL AND id > ? ORDER BY id LIMIT ?"),
      depth: db.prepare("SELECT count(*) AS n FROM items WHERE label IS NULL"),
      label: db.prepare("UPDATE items SET label = ?, note = ?, labelled_by = ?, labelled_at = ? WHERE id = ?"),
      labelled: db.prepare("SELECT * FROM items WHERE label IS NOT NULL AND id > ? ORDER BY id LIMIT ?"),
      addToken: db.prepare("INSERT INTO tokens (name, role, hash, created_at) VALUES (?, ?, ?, ?)"),
      tokenByHash: db.prepare("SELECT * FROM tokens WHERE hash = ?"),
      tokens: db.prepare("SELECT * FROM tokens ORDER BY id"),
      revoke: db.prepare("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"),
      activeToken: db.prepare("SELECT role FROM tokens WHERE id = ? AND revoked_at IS NULL"),
      activeAdmins: db.prepare("SELECT count(*) AS n FROM tokens WHERE role = 'admin' AND revoked_at IS NULL"),
      saveProbe: db.prepare("INSERT INTO probes (created_at, state) VALUES (?, ?)"),
      latestProbe: db.prepare("SELECT id, created_at, state FROM probes ORDER BY id DESC LIMIT 1"),
      version: db.prepare("SELECT max(version) AS v FROM schema_migrations"),
    };
  }

  async insertItem(item: NewItem): Promise<number> {
    const r = this.stmts.insert.run(...itemValues(item));
    return Number(r.lastInsertRowid);
  }

  async getItem(id: number): Promise<StoredItem | undefined> {
    const r = this.stmts.get.get(id) as ItemRow | undefined;
    return r && itemFromRow(r, this.file);
  }

  async queue(page: Page): Promise<StoredItem[]> {
    return (this.stmts.queue.all(page.after ?? 0, page.limit) as ItemRow[]).map((r) => itemFromRow(r, this.file));
  }

  async queueDepth(): Promise<number> {
    return (this.stmts.depth.get() as { n: number }).n;
  }

  async setLabel(id: number, label: Label, note: string | null, by: string, at: number): Promise<boolean> {
    return this.stmts.label.run(label, note, by, at, id).changes === 1;
  }

  async labelled(page: Page): Promise<StoredItem[]> {
    return (this.stmts.labelled.all(page.after ?? 0, page.limit) as ItemRow[]).map((r) => itemFromRow(r, this.file));
  }

  async addToken(name: string, role: Role, hash: string, at: number): Promise<number> {
    return Number(this.stmts.addToken.run(name, role, hash, at).lastInsertRowid);
  }

  async tokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const r = this.stmts.tokenByHash.get(hash) as TokenRow | undefined;
    return r && tokenFromRow(r);
  }

  async listTokens(): Promise<TokenRecord[]> {
    return (this.stmts.tokens.all() as TokenRow[]).map(tokenFromRow);
  }

  async revokeToken(id: number, at: number): Promise<RevokeOutcome> {
    // BEGIN IMMEDIATE takes the write lock first, so another process cannot revoke the other admin between
    // the count and the update.
    const revoke = this.db.transaction((): RevokeOutcome => {
      const t = this.stmts.activeToken.get(id) as { role: Role } | undefined;
      if (!t) return "not-found";
      if (t.role === "admin" && (this.stmts.activeAdmins.get() as { n: number }).n <= 1) return "last-admin";
      this.stmts.revoke.run(at, id);
      return "revoked";
    });
    return revoke.immediate();
  }

  async saveProbe(state: string, at: number): Promise<number> {
    return Number(this.stmts.saveProbe.run(at, state).lastInsertRowid);
  }

  async latestProbe(): Promise<ProbeRecord | undefined> {
    const r = this.stmts.latestProbe.get() as ProbeRow | undefined;
    return r && probeFromRow(r);
  }

  async schemaVersion(): Promise<number> {
    return (this.stmts.version.get() as { v: number }).v;
  }

  /** `PRAGMA integrity_check`: "ok" for a sound database. */
  integrityCheck(): string {
    return (this.db.pragma("integrity_check", { simple: true }) as string) ?? "";
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function migrateSqlite(db: Database.Database, file: string): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const current = (db.prepare("SELECT coalesce(max(version), 0) AS v FROM schema_migrations").get() as { v: number }).v;
  for (const m of pendingMigrations(current, file)) {
    db.transaction(() => {
      for (const sql of m.sqlite) db.exec(sql);
      db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(m.version, Date.now());
    })();
  }
}
