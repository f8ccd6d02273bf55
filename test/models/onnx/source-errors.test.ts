// Bad model folders fail with a MadkitError that names the file and what was expected.

import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { config } from "../../../src/config.js";
import { MadkitError } from "../../../src/errors.js";
import { exportLlama2cToOnnx } from "../../../src/models/onnx/export-llama2c.js";
import { loadOnnxSource } from "../../../src/models/onnx/source.js";

const dir = path.join(config.sharedDir, "models/stories260K");
const tmp = mkdtempSync(path.join(os.tmpdir(), "madkit-onnx-errors-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
const good = path.join(tmp, "good");
await exportLlama2cToOnnx(path.join(dir, "stories260K.bin"), path.join(dir, "tok512.bin"), good);

/** A copy of the good export, then `edit` applied to it. */
function variant(name: string, edit: (d: string) => void): string {
  const d = path.join(tmp, name);
  cpSync(good, d, { recursive: true });
  edit(d);
  return d;
}

async function rejects(d: string, code: string, ...mentions: RegExp[]): Promise<void> {
  await assert.rejects(loadOnnxSource({ dir: d }), (e: unknown) => {
    assert.ok(e instanceof MadkitError, `expected MadkitError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const m of mentions) assert.match(e.message, m);
    return true;
  });
}

test("garbage bytes as model.onnx fail as MALFORMED_MODEL naming model.onnx and onnx.ModelProto", async () => {
  const d = variant("garbage", (v) => writeFileSync(path.join(v, "onnx/model.onnx"), Buffer.from("this is not protobuf \u0000\u00ff at all, really")));
  await rejects(d, "MALFORMED_MODEL", /model\.onnx/, /ModelProto/);
});

test("an empty model.onnx fails as MALFORMED_MODEL (protobuf decodes it to an empty message)", async () => {
  const d = variant("empty", (v) => writeFileSync(path.join(v, "onnx/model.onnx"), new Uint8Array(0)));
  await rejects(d, "MALFORMED_MODEL", /model\.onnx/, /graph/);
});

test("a missing tokenizer.json fails as FILE_NOT_FOUND naming tokenizer.json", async () => {
  const d = variant("no-tokenizer", (v) => rmSync(path.join(v, "tokenizer.json")));
  await rejects(d, "FILE_NOT_FOUND", /tokenizer\.json/);
});

test("a missing config.json fails as FILE_NOT_FOUND naming config.json", async () => {
  const d = variant("no-config", (v) => rmSync(path.join(v, "config.json")));
  await rejects(d, "FILE_NOT_FOUND", /config\.json/);
});

test("a config.json that is not JSON fails as MALFORMED_MODEL naming config.json", async () => {
  const d = variant("bad-config", (v) => writeFileSync(path.join(v, "config.json"), "{ hidden_size: 64"));
  await rejects(d, "MALFORMED_MODEL", /config\.json/, /JSON/);
});

test("a folder without any .onnx file fails as FILE_NOT_FOUND naming onnx/model.onnx", async () => {
  const d = variant("no-model", (v) => rmSync(path.join(v, "onnx"), { recursive: true }));
  await rejects(d, "FILE_NOT_FOUND", /onnx\/model\.onnx/);
});

test("an unknown hook name fails as UNKNOWN_HOOK listing the valid names", async () => {
  const src = await loadOnnxSource({ dir: good });
  try {
    await assert.rejects(src.forward(["Hi"], { hooks: ["blocks.9.hook_resid_post"] }), (e: unknown) => {
      assert.ok(e instanceof MadkitError);
      assert.equal(e.code, "UNKNOWN_HOOK");
      assert.match(e.message, /blocks\.4\.hook_resid_post/);
      return true;
    });
  } finally {
    await src.dispose();
    await src.dispose();
  }
});
