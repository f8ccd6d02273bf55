// One storage conformance suite run against every back end (SQLite file; Postgres in a throwaway cluster):
// migrations, item round trips (activations bit-exact), queue order and paging, labels, tokens, probes.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { LATEST_SCHEMA_VERSION } from "../../src/server/migrations.js";
import { openStore } from "../../src/server/open-store.js";
import type { MonitorStore, NewItem } from "../../src/server/storage.js";
import { missingPostgres, startPgCluster } from "./postgres-cluster.js";

function item(i: number): NewItem {
  const a = new Float32Array([i, -0.1 * i, Math.fround(1 / 3), 3.4e38, -0, 1e-45]);
  return { text: i % 2 ? `text ${i} — ünïcødé` : null, activations: { "blocks.0.hook_resid_post": a, h2: new Float32Array([i]) }, scores: { combined: i, explanation: { k: [1, 2] } }, combined: i / 2, pValue: 1 / (i + 2), createdAt: 1_700_000_000_000 + i };
}

function storageSuite(name: string, open: () => Promise<MonitorStore>) {
  describe(`storage conformance: ${name}`, () => {
    let s: MonitorStore;
    before(async () => {
      s = await open();
    });
    after(async () => s.close());

    test("migrations bring a new database to the latest schema version, and reopening applies nothing twice", async () => {
      assert.equal(await s.schemaVersion(), LATEST_SCHEMA_VERSION);
      const again = await open();
      assert.equal(await again.schemaVersion(), LATEST_SCHEMA_VERSION);
      await again.close();
    });

    test("an item reads back with bit-identical activations, its text, scores and no label", async () => {
      const id = await s.insertItem(item(3));
      const got = (await s.getItem(id))!;
      assert.equal(got.text, "text 3 — ünïcødé");
      assert.deepEqual(new Uint8Array(got.activations["blocks.0.hook_resid_post"]!.buffer), new Uint8Array(item(3).activations["blocks.0.hook_resid_post"]!.buffer));
      assert.deepEqual(got.scores, item(3).scores);
      assert.equal(got.combined, 1.5);
      assert.equal(got.pValue, 1 / 5);
      assert.equal(got.createdAt, 1_700_000_000_003);
      assert.equal(got.label, null);
      assert.equal(await s.getItem(987654), undefined);
    });

    test("the queue is unlabelled items oldest first, pages by id, and labels move items to the labelled list", async () => {
      const ids: number[] = [];
      for (let i = 10; i < 17; i++) ids.push(await s.insertItem(item(i)));
      const depth0 = await s.queueDepth();
      const seen: number[] = [];
      for (let after = 0, guard = 0; guard < 100; guard++) {
        const page = await s.queue({ after, limit: 3 });
        seen.push(...page.map((p) => p.id));
        if (page.length < 3) break;
        after = page[page.length - 1]!.id;
      }
      assert.equal(seen.length, depth0);
      assert.deepEqual(seen, [...seen].sort((a, b) => a - b));
      assert.equal(await s.setLabel(ids[1]!, "benign", "fine", "rev", 5), true);
      assert.equal(await s.setLabel(ids[2]!, "anomalous", null, "rev", 6), true);
      assert.equal(await s.setLabel(424242, "benign", null, "rev", 7), false);
      assert.equal(await s.queueDepth(), depth0 - 2);
      const lab = await s.labelled({ limit: 100 });
      const l1 = lab.find((x) => x.id === ids[1])!;
      assert.deepEqual([l1.label, l1.note, l1.labelledBy, l1.labelledAt], ["benign", "fine", "rev", 5]);
      assert.ok(!(await s.queue({ limit: 100 })).some((x) => x.id === ids[1]));
      // relabel overwrites
      assert.equal(await s.setLabel(ids[1]!, "unsure", null, "rev2", 8), true);
      assert.equal((await s.getItem(ids[1]!))!.label, "unsure");
    });

    test("tokens are found by hash, listed, revoked once, and hashes are unique", async () => {
      const id = await s.addToken("bob", "reviewer", "a".repeat(64), 1);
      assert.equal((await s.tokenByHash("a".repeat(64)))!.role, "reviewer");
      assert.equal(await s.tokenByHash("b".repeat(64)), undefined);
      await assert.rejects(s.addToken("dup", "client", "a".repeat(64), 2));
      assert.ok((await s.listTokens()).some((t) => t.id === id && t.name === "bob"));
      assert.equal(await s.revokeToken(id, 9), "revoked");
      assert.equal(await s.revokeToken(id, 10), "not-found");
      assert.equal(await s.revokeToken(424242, 10), "not-found");
      assert.equal((await s.tokenByHash("a".repeat(64)))!.revokedAt, 9);
    });

    test("the last active admin token cannot be revoked, even by concurrent revocations", async () => {
      const a1 = await s.addToken("admin-1", "admin", "c".repeat(64), 1);
      const a2 = await s.addToken("admin-2", "admin", "d".repeat(64), 1);
      const outcomes = (await Promise.all([s.revokeToken(a1, 2), s.revokeToken(a2, 2)])).sort();
      assert.deepEqual(outcomes, ["last-admin", "revoked"]);
      const active = (await s.listTokens()).filter((t) => t.role === "admin" && t.revokedAt === null);
      assert.equal(active.length, 1);
      assert.equal(await s.revokeToken(active[0]!.id, 3), "last-admin");
      const a3 = await s.addToken("admin-3", "admin", "e".repeat(64), 4);
      assert.equal(await s.revokeToken(active[0]!.id, 5), "revoked");
      assert.equal(await s.revokeToken(a3, 6), "last-admin");
    });

    test("the latest probe is the one saved last", async () => {
      assert.equal(await s.latestProbe(), undefined);
      await s.saveProbe('{"v":1}', 1);
      const id2 = await s.saveProbe('{"v":2}', 2);
      assert.deepEqual(await s.latestProbe(), { id: id2, createdAt: 2, state: '{"v":2}' });
    });
  });
}

const dir = mkdtempSync(path.join(tmpdir(), "madkit-store-"));
after(() => rmSync(dir, { recursive: true, force: true }));
storageSuite("sqlite", () => openStore(path.join(dir, "a.sqlite")));

const cluster = await startPgCluster();
if (cluster) {
  after(() => cluster.stop());
  storageSuite("postgres", () => openStore(cluster.url));
} else {
  test("storage conformance: postgres", (t) => t.skip(missingPostgres()));
}
