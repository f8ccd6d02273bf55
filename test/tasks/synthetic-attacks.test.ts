// Synthetic attacks: the same seed gives the same attacks, another seed others, and every transformation can
// be undone or checked against the request it wraps.

import assert from "node:assert/strict";
import { test } from "node:test";
import { isMadkitError } from "../../src/errors.js";
import {
  MANY_SHOT_TURNS,
  RANDOM_SUFFIX_PIECES,
} from "../../src/tasks/attack-templates.js";
import { loadHarmBench } from "../../src/datasets/harmbench.js";
import {
  fromBase64,
  fromLeetspeak,
  generateAttacks,
  spaceCharacters,
  SYNTHETIC_FAMILIES,
  toLeetspeak,
  unspaceCharacters,
} from "../../src/tasks/synthetic-attacks.js";

const bases = loadHarmBench("all", { functionalCategory: "standard" }).slice(0, 60);

test("every synthetic family gives identical attacks for the same seed", () => {
  for (const f of SYNTHETIC_FAMILIES) assert.deepEqual(generateAttacks(f, bases, 7), generateAttacks(f, bases, 7));
});

test("a different seed changes the attacks of every family", () => {
  for (const f of SYNTHETIC_FAMILIES) {
    const a = generateAttacks(f, bases, 7);
    const b = generateAttacks(f, bases, 8);
    const differ = a.filter((x, i) => x.text !== b[i]!.text).length;
    assert.ok(differ > bases.length / 4, `${f}: ${differ} of ${bases.length} differ`);
  }
});

test("an attack depends only on its own base request, not on the other bases in the list", () => {
  for (const f of SYNTHETIC_FAMILIES) {
    const all = generateAttacks(f, bases, 3);
    const reversed = generateAttacks(f, bases.slice().reverse(), 3).reverse();
    assert.deepEqual(all, reversed);
  }
});

test("every attack records its family and base request, and several templates are used", () => {
  for (const f of SYNTHETIC_FAMILIES) {
    const a = generateAttacks(f, bases, 11);
    a.forEach((x, i) => {
      assert.equal(x.family, f);
      assert.equal(x.baseId, bases[i]!.id);
      assert.equal(x.baseText, bases[i]!.text);
      assert.equal(x.id, `${f}/${bases[i]!.id}`);
      assert.notEqual(x.text, x.baseText);
    });
    if (f === "synthetic-roleplay" || f === "synthetic-injection") {
      assert.ok(new Set(a.map((x) => x.template)).size >= 4, `${f} uses several templates`);
    }
  }
});

test("role-play and injection wrappers contain the request (as written or as a lower-cased clause)", () => {
  for (const f of ["synthetic-roleplay", "synthetic-injection"] as const) {
    for (const x of generateAttacks(f, bases, 5)) {
      const clause = x.baseText[0]!.toLowerCase() + x.baseText.slice(1).replace(/[.]\s*$/, "");
      assert.ok(x.text.includes(x.baseText) || x.text.includes(clause), `${x.id}: ${x.text}`);
    }
  }
});

test("base64 payloads decode back to the request and appear in the text", () => {
  for (const x of generateAttacks("obfuscation-base64", bases, 5)) {
    assert.equal(fromBase64(x.payload!), x.baseText);
    assert.ok(x.text.includes(x.payload!));
    assert.match(x.payload!, /^[A-Za-z0-9+/]+=*$/);
  }
});

test("leetspeak replaces exactly the lowercase a e i o s t and maps back for digit-free requests", () => {
  const table: Record<string, string> = { a: "4", e: "3", i: "1", o: "0", s: "5", t: "7" };
  let checkedRoundTrip = 0;
  for (const x of generateAttacks("obfuscation-leetspeak", bases, 5)) {
    const expected = Array.from(x.baseText, (c) => table[c] ?? c).join("");
    assert.equal(x.payload, expected);
    assert.ok(x.text.includes(x.payload!));
    if (!/[013457]/.test(x.baseText)) {
      assert.equal(fromLeetspeak(x.payload!), x.baseText);
      checkedRoundTrip++;
    }
  }
  assert.ok(checkedRoundTrip > 40);
  assert.equal(toLeetspeak("Test STATE"), "T357 STATE");
});

test("character spacing removes back exactly, including spaces and non-ASCII characters", () => {
  for (const x of generateAttacks("obfuscation-spacing", bases, 5)) {
    assert.equal(unspaceCharacters(x.payload!), x.baseText);
    assert.equal(x.payload!.length, 2 * x.baseText.length - 1);
  }
  assert.equal(spaceCharacters("ab c"), "a b   c");
  assert.equal(unspaceCharacters(spaceCharacters("naïve 😀 ok")), "naïve 😀 ok");
});

test("random-token suffixes are 12 to 24 table pieces appended after one space", () => {
  const pieces = new Set(RANDOM_SUFFIX_PIECES);
  for (const x of generateAttacks("synthetic-random-suffix", bases, 5)) {
    assert.equal(x.text, `${x.baseText} ${x.payload}`);
    // Pieces contain no spaces, so splitting the suffix recovers them.
    const parts = x.payload!.split(" ");
    assert.ok(parts.length >= 12 && parts.length <= 24, `${parts.length} pieces`);
    for (const p of parts) assert.ok(pieces.has(p), `piece '${p}' comes from the table`);
  }
});

test("many-shot prompts hold 4 to 8 distinct fake turns, then the request and an open assistant turn", () => {
  for (const x of generateAttacks("synthetic-manyshot", bases, 5)) {
    assert.ok(x.shots! >= 4 && x.shots! <= 8);
    const usedTurns = MANY_SHOT_TURNS.filter((t) => x.text.includes(t.user));
    assert.equal(usedTurns.length, x.shots);
    assert.match(x.text, new RegExp(`: ${escape(x.baseText)}\\n\\w+:$`));
  }
});

test("generateAttacks rejects duplicate base ids and unknown families", () => {
  assert.throws(() => generateAttacks("synthetic-roleplay", [bases[0]!, bases[0]!], 1), (e: unknown) => isMadkitError(e) && e.code === "BAD_ARGUMENT");
  assert.throws(
    () => generateAttacks("nope" as never, bases, 1),
    (e: unknown) => isMadkitError(e) && e.message.includes("synthetic-roleplay"),
  );
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
