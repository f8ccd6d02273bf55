// Start-up of the monitor and its admin tokens (issue 21): a weak MADKIT_ADMIN_TOKEN is refused with one line;
// a database whose admin tokens are all revoked, or a revoked MADKIT_ADMIN_TOKEN, stops start-up with one line
// on how to recover; a second instance that cannot bind its port (same SQLite file, same port) writes nothing
// into the shared database. Through startMonitor and through the CLI (in-process), exit 1 and no stack.

import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { run } from "../../src/cli/main.js";
import { isMadkitError } from "../../src/errors.js";
import { tokenStrengthProblem } from "../../src/server/auth.js";
import { requestLogger } from "../../src/server/front-door.js";
import { startMonitor, type StartMonitorOptions } from "../../src/server/service.js";
import { SqliteStore } from "../../src/server/sqlite-store.js";
import { capture } from "../helpers/cli.js";
import { standInBundle } from "./fixture.js";

const tmp = mkdtempSync(path.join(tmpdir(), "madkit-startup-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const bundle = path.join(tmp, "bundle");
standInBundle().save(bundle);

const STRONG = "0123456789abcdef0123456789abcdef0123456789abcdef"; // 48 hex characters
const OTHER = "fedcba9876543210fedcba9876543210fedcba9876543210";

const start = (db: string, extra: Partial<StartMonitorOptions> = {}) =>
  startMonitor({ model: "none", detector: bundle, db, port: 0, logger: requestLogger("silent"), ...extra });

/** `madkit serve` in-process with MADKIT_ADMIN_TOKEN as given; must fail: exit 1 and one `madkit:` line. */
async function serveFails(argv: string[], adminToken: string | undefined): Promise<string> {
  const saved = process.env.MADKIT_ADMIN_TOKEN;
  if (adminToken === undefined) delete process.env.MADKIT_ADMIN_TOKEN;
  else process.env.MADKIT_ADMIN_TOKEN = adminToken;
  try {
    const io = capture();
    const code = await run(["serve", "--model", "none", "--detector", bundle, ...argv], io);
    assert.equal(code, 1, io.err());
    assert.doesNotMatch(io.err(), /unexpected error|\n\s+at /);
    const lines = io.err().split("\n").filter((l) => l.length > 0 && !l.startsWith("madkit serve: "));
    assert.equal(lines.length, 1, io.err());
    assert.match(lines[0]!, /^madkit: /);
    return lines[0]!;
  } finally {
    if (saved === undefined) delete process.env.MADKIT_ADMIN_TOKEN;
    else process.env.MADKIT_ADMIN_TOKEN = saved;
  }
}

const tokenCount = (db: string) => {
  const d = new Database(db, { readonly: true });
  try {
    return (d.prepare("SELECT count(*) AS n FROM tokens").get() as { n: number }).n;
  } finally {
    d.close();
  }
};

describe("admin token strength", () => {
  test("tokenStrengthProblem refuses short, spaced, non-ASCII and repetitive tokens and accepts random ones", () => {
    for (const weak of ["a", "", "x".repeat(31), "a".repeat(40), "abab".repeat(10), `${STRONG} with space`, `${STRONG}é`, `${STRONG}\u0000`]) assert.ok(tokenStrengthProblem(weak), JSON.stringify(weak));
    for (const ok of [STRONG, "mk_" + "Zx9-_aQ".repeat(6), "0123456789abcdef0123456789abcdef"]) assert.equal(tokenStrengthProblem(ok), undefined, ok);
  });

  test("MADKIT_ADMIN_TOKEN=a is refused with one line, before anything is written or bound", async () => {
    const db = path.join(tmp, "weak.sqlite");
    const line = await serveFails(["--db", db, "--port", "0"], "a");
    assert.match(line, /^madkit: MADKIT_ADMIN_TOKEN is 1 character long; use at least 32 random characters \(128 bits\), e\.g\. \$\(openssl rand -hex 32\)$/);
    assert.match(await serveFails(["--db", db, "--port", "0"], ""), /MADKIT_ADMIN_TOKEN is 0 characters long/);
    assert.match(await serveFails(["--db", db, "--port", "0"], "a".repeat(64)), /MADKIT_ADMIN_TOKEN uses only 1 distinct characters/);
    await assert.rejects(start(db, { adminToken: "short" }), (e) => isMadkitError(e) && /MADKIT_ADMIN_TOKEN is 5 characters long/.test(e.message));
    assert.equal(existsSync(db), false, "the database was not even opened");
  });
});

describe("lockout", () => {
  test("a database whose admin tokens are all revoked stops start-up with one line on how to recover; a new MADKIT_ADMIN_TOKEN recovers it", async () => {
    const db = path.join(tmp, "locked.sqlite");
    const first = await start(db, { adminToken: STRONG });
    await first.close();
    // An older version let the last admin token be revoked; simulate that database.
    const d = new Database(db);
    d.prepare("UPDATE tokens SET revoked_at = 1700000000000").run();
    d.close();
    const line = await serveFails(["--db", db, "--port", "0"], undefined);
    assert.match(line, /locked\.sqlite has no usable admin token \(all 1 admin tokens are revoked\), so no one could manage tokens; to recover, start with MADKIT_ADMIN_TOKEN set to a new secret of at least 32 characters/);
    // The revoked token itself does not let it start either.
    const revoked = await serveFails(["--db", db, "--port", "0"], STRONG);
    assert.match(revoked, /MADKIT_ADMIN_TOKEN is token 1 \('admin \(from environment\)'\) of .*locked\.sqlite, revoked on 2023-11-14T22:13:20\.000Z; a revoked token stays revoked/);
    assert.equal(tokenCount(db), 1);
    // A new secret recovers: it becomes an admin token.
    const recovered = await start(db, { adminToken: OTHER });
    try {
      const r = await fetch(`${recovered.url}/v1/tokens`, { headers: { authorization: `Bearer ${OTHER}` } });
      assert.equal(r.status, 200);
    } finally {
      await recovered.close();
    }
  });
});

describe("a second instance that cannot bind", () => {
  test("on the same SQLite file and port, it fails with one line and writes no admin token into the shared database", async () => {
    const db = path.join(tmp, "shared.sqlite");
    const first = await start(db, { adminToken: STRONG });
    try {
      assert.equal(tokenCount(db), 1);
      // Through the library: the bind error, and nothing written.
      await assert.rejects(start(db, { adminToken: OTHER, port: first.port }), (e) => (e as { code?: string }).code === "EADDRINUSE");
      assert.equal(tokenCount(db), 1);
      // Through the CLI: one line, exit 1, still nothing written.
      const line = await serveFails(["--db", db, "--port", String(first.port)], OTHER);
      assert.match(line, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${first.port}: port ${first.port} on 127\\.0\\.0\\.1 is already in use`));
      assert.equal(tokenCount(db), 1);
      // The first instance is untouched and still serves its admin.
      assert.equal((await fetch(`${first.url}/v1/tokens`, { headers: { authorization: `Bearer ${STRONG}` } })).status, 200);
      // On a fresh database the loser would have minted the first admin token: it mints none.
      const fresh = path.join(tmp, "fresh.sqlite");
      await serveFails(["--db", fresh, "--port", String(first.port)], undefined);
      const s = new SqliteStore(fresh);
      assert.deepEqual(await s.listTokens(), []);
      await s.close();
    } finally {
      await first.close();
    }
  });
});
