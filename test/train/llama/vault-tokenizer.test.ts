import assert from "node:assert/strict";
import { test } from "node:test";
import { generateVault, VAULT_WORDS } from "../../../src/datasets/vault-world.js";
import { isMadkitError } from "../../../src/errors.js";
import { decode, encode } from "../../../src/models/llama2c/tokenizer.js";
import { vaultTokenizer, vaultTokenizerBytes, wordId } from "../../../src/train/llama/vault-tokenizer.js";

test("vault tokenizer: the stock llama2.c encoder reads every vault word as one piece", () => {
  const tok = vaultTokenizer(VAULT_WORDS);
  const ids = new Set(VAULT_WORDS.map((w) => wordId(tok, w)));
  assert.equal(ids.size, VAULT_WORDS.length, "each word its own id");
  for (const e of generateVault({ seed: 2, difficulty: 3 }, "tok", [{ category: "real", count: 20 }, { category: "tampered", count: 20 }])) {
    const words = e.text.split(" ");
    const enc = encode(tok, e.text, true, false);
    assert.equal(enc.length, 1 + words.length, e.text); // BOS + one piece per word
    assert.equal(decode(tok, enc.subarray(1)).trim(), e.text);
  }
});

test("vault tokenizer: the bytes are deterministic and refuse words it cannot spell", () => {
  assert.deepEqual(vaultTokenizerBytes(VAULT_WORDS), vaultTokenizerBytes([...VAULT_WORDS].reverse()));
  assert.throws(() => vaultTokenizerBytes(["Diamond"]), (e) => isMadkitError(e) && /lower-case letters/.test(e.message));
  assert.throws(() => wordId(vaultTokenizer(["yes"]), "no"), (e) => isMadkitError(e) && /'no' is not one piece/.test(e.message));
});
