// The pieces both store back ends share: which migrations a database still needs (a database newer than
// this madkit is refused, naming where it is), and row conversion that accepts pg's BIGINT-as-string.

import assert from "node:assert/strict";
import { test } from "node:test";
import { MadkitError } from "../../src/errors.js";
import { MIGRATIONS } from "../../src/server/migrations.js";
import { pendingMigrations, probeFromRow, tokenFromRow } from "../../src/server/store-rows.js";

const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;

test("a new database needs every migration, an up-to-date one none, one in between the rest", () => {
  assert.deepEqual(pendingMigrations(0, "db"), [...MIGRATIONS]);
  assert.deepEqual(pendingMigrations(latest, "db"), []);
  assert.deepEqual(pendingMigrations(latest - 1, "db").map((m) => m.version), [latest]);
});

test("a database newer than this madkit is refused with VERSION_MISMATCH naming it", () => {
  assert.throws(
    () => pendingMigrations(latest + 1, "/tmp/x.db"),
    (e: unknown) =>
      e instanceof MadkitError &&
      e.code === "VERSION_MISMATCH" &&
      e.message === `/tmp/x.db: database schema version ${latest + 1} is newer than this madkit knows (${latest}); upgrade madkit`,
  );
});

test("ids and times that pg returns as strings come back as numbers", () => {
  const row = { id: "7", created_at: "1700000000000", state: "{}" } as unknown as Parameters<typeof probeFromRow>[0];
  assert.deepEqual(probeFromRow(row), { id: 7, createdAt: 1700000000000, state: "{}" });
  const t = { id: "3", name: "n", role: "admin", hash: "h", created_at: "5", revoked_at: null } as unknown as Parameters<typeof tokenFromRow>[0];
  assert.deepEqual(tokenFromRow(t), { id: 3, name: "n", role: "admin", hash: "h", createdAt: 5, revokedAt: null });
});
