// Versioned schema migrations, one list for both back ends (each step in its two dialects). A store applies
// every step above the version recorded in `schema_migrations`, each in its own transaction.

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sqlite: readonly string[];
  readonly postgres: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "items, tokens, probes",
    sqlite: [
      `CREATE TABLE items (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at INTEGER NOT NULL,
        text TEXT,
        activations TEXT NOT NULL,
        scores TEXT NOT NULL,
        combined REAL NOT NULL,
        p_value REAL NOT NULL,
        label TEXT,
        note TEXT,
        labelled_at INTEGER,
        labelled_by TEXT)`,
      `CREATE INDEX items_unlabelled ON items (id) WHERE label IS NULL`,
      `CREATE TABLE tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER)`,
      `CREATE TABLE probes (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at INTEGER NOT NULL, state TEXT NOT NULL)`,
    ],
    postgres: [
      `CREATE TABLE items (
        id BIGSERIAL PRIMARY KEY,
        created_at BIGINT NOT NULL,
        text TEXT,
        activations TEXT NOT NULL,
        scores TEXT NOT NULL,
        combined DOUBLE PRECISION NOT NULL,
        p_value DOUBLE PRECISION NOT NULL,
        label TEXT,
        note TEXT,
        labelled_at BIGINT,
        labelled_by TEXT)`,
      `CREATE INDEX items_unlabelled ON items (id) WHERE label IS NULL`,
      `CREATE TABLE tokens (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL,
        revoked_at BIGINT)`,
      `CREATE TABLE probes (id BIGSERIAL PRIMARY KEY, created_at BIGINT NOT NULL, state TEXT NOT NULL)`,
    ],
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
