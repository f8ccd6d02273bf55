// Pick the storage back end from `--db`: a postgres:// (or postgresql://) URL opens Postgres, anything
// else is a SQLite file path.

import type { MonitorStore } from "./storage.js";

export async function openStore(db: string): Promise<MonitorStore> {
  if (/^postgres(ql)?:\/\//.test(db)) {
    const { PostgresStore } = await import("./postgres-store.js");
    return PostgresStore.open(db);
  }
  const { SqliteStore } = await import("./sqlite-store.js");
  return new SqliteStore(db);
}
