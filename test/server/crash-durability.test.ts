// Durability under SIGKILL: `madkit serve` (a real child process, SQLite store) is killed while labels are
// being written; after a restart every label that got a 2xx is there, and the database passes
// PRAGMA integrity_check.

import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { projectRoot } from "../../src/config.js";
import { SqliteStore } from "../../src/server/sqlite-store.js";
import { SeededRng } from "../../src/random/seeded-rng.js";
import { activationsBody, standInBundle } from "./fixture.js";

const ADMIN = "mk_test_admin_token_for_crash_test";

async function startServer(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(projectRoot, "src/cli/main.ts"), "serve", "--model", "none", "--detector", path.join(dir, "bundle"), "--db", path.join(dir, "m.sqlite"), "--port", "0"],
    { cwd: projectRoot, env: { ...process.env, MADKIT_ADMIN_TOKEN: ADMIN }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let err = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start in 30 s: ${err}`)), 30_000);
    child.stderr!.on("data", (b: Buffer) => {
      err += b.toString();
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${err}`));
    });
  });
  return { child, url };
}

const post = (url: string, body: unknown) =>
  fetch(url, { method: "POST", headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" }, body: JSON.stringify(body) });

test("after SIGKILL during label writes, every label that got a 2xx survives and the database is intact", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "madkit-crash-"));
  try {
    standInBundle().save(path.join(dir, "bundle"));
    let { child, url } = await startServer(dir);
    const rng = new SeededRng(4);
    const ids: number[] = [];
    for (let i = 0; i < 400; i++) {
      const r = await post(`${url}/v1/score`, { activations: activationsBody(rng, 10) });
      ids.push(((await r.json()) as { itemId: number }).itemId);
    }
    const acked = new Map<number, string>();
    let next = 0;
    let killed = false;
    // 8 writers label items until the server dies; the kill comes after 100 acknowledged labels.
    const writer = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const note = `note-${id}-${next}`;
        try {
          const r = await post(`${url}/v1/items/${id}/label`, { label: id % 2 ? "anomalous" : "benign", note });
          if (r.ok) acked.set(id, note);
          await r.arrayBuffer().catch(() => {});
        } catch {
          return; // connection refused / reset: the server is gone
        }
        if (acked.size >= 100 && !killed) {
          killed = true;
          child.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    assert.ok(killed, "the server was killed mid-way");
    assert.ok(acked.size >= 100 && acked.size < ids.length, `acknowledged ${acked.size}`);
    await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once("exit", r)));

    // Restart: the service opens the same file (WAL recovery), then check directly too.
    ({ child, url } = await startServer(dir));
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    const exported = await (await fetch(`${url}/v1/export`, { headers: { authorization: `Bearer ${ADMIN}` } })).text();
    const byId = new Map(exported.trim().split("\n").map((l) => JSON.parse(l) as { id: number; note: string; label: string }).map((r) => [r.id, r]));
    for (const [id, note] of acked) {
      assert.equal(byId.get(id)?.note, note, `label of item ${id} acknowledged but missing`);
      assert.equal(byId.get(id)?.label, id % 2 ? "anomalous" : "benign");
    }
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    const store = new SqliteStore(path.join(dir, "m.sqlite"));
    assert.equal(store.integrityCheck(), "ok");
    assert.equal((await store.labelled({ limit: 1000 })).length, byId.size);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
