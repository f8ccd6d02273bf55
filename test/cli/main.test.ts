import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { openStore } from "../../src/activations/store.js";
import { run } from "../../src/cli/main.js";
import { capture } from "../helpers/cli.js";

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), "madkit-cli-"));

test("--help works on the program and on every command, exiting 0", async () => {
  for (const argv of [["--help"], ...["extract", "combine", "hooks", "generate", "export-onnx"].map((c) => [c, "--help"])]) {
    const io = capture();
    assert.equal(await run(argv, io), 0, argv.join(" "));
    assert.match(io.out(), /Usage: madkit/);
  }
});

test("a bad flag value exits 1 naming the flag", async () => {
  const io = capture();
  assert.equal(await run(["extract", "--shard", "2/2"], io), 1);
  assert.match(io.err(), /--shard <i\/n>.*expected i\/n with 0 <= i < n/s);
  const io2 = capture();
  assert.equal(await run(["extract", "--pool", "max"], io2), 1);
  assert.match(io2.err(), /expected one of last, mean, rootn, all, got 'max'/);
});

test("a MadkitError prints its message without a stack and exits 1", async () => {
  const io = capture();
  const dir = tmp();
  const input = path.join(dir, "in.jsonl");
  writeFileSync(input, '{"text":"hi"}\n');
  assert.equal(await run(["extract", "--input", input, "--hooks", "blocks.*.hook_nope", "--out", path.join(dir, "acts")], io), 1);
  assert.match(io.err(), /^madkit: unknown hook 'blocks\.\*\.hook_nope'; this model's hook points are: blocks\.0\.hook_resid_pre/);
  assert.doesNotMatch(io.err(), /\n\s+at /, "no stack trace");
});

test("a bad JSONL line is reported as file:line", async () => {
  const dir = tmp();
  const input = path.join(dir, "in.jsonl");
  writeFileSync(input, '{"text":"fine"}\nnot json\n');
  const io = capture();
  assert.equal(await run(["extract", "--input", input, "--out", path.join(dir, "acts")], io), 1);
  assert.ok(io.err().includes(`${input}:2: expected a JSON object`));
});
