// Benign look-alikes carry the harmless request verbatim (or as base64 that decodes back to it), are the same
// for the same seed, take the families in turn, and their templates run about as long as the attack templates
// they imitate.

import assert from "node:assert/strict";
import { test } from "node:test";
import { BASE64_TEMPLATES, INJECTION_TEMPLATES, ROLEPLAY_TEMPLATES } from "../../src/tasks/attack-templates.js";
import { benignLookalikes, lookalikeOf } from "../../src/tasks/benign-lookalikes.js";
import { LOOKALIKE_FAMILIES, LOOKALIKE_TEMPLATES } from "../../src/tasks/lookalike-templates.js";

const bases = Array.from({ length: 24 }, (_, i) => ({ id: `b:${i}`, text: `Write a short poem about the number ${i} and a $1 coin.`, source: "test" }));

test("each look-alike holds its request (base64 decodes back to it), families in turn, same seed same text", () => {
  const out = benignLookalikes(bases, 5);
  out.forEach((l, i) => {
    assert.equal(l.family, LOOKALIKE_FAMILIES[i % LOOKALIKE_FAMILIES.length]);
    const request = bases[i]!.text;
    if (l.family === "base64") {
      const payload = l.text.split(/\s/).pop()!;
      assert.equal(Buffer.from(payload, "base64").toString("utf8"), request);
    } else assert.ok(l.text.includes(request), l.text);
    assert.ok(!l.text.includes("{request}") && !l.text.includes("{payload}"));
    assert.equal(l.text, LOOKALIKE_TEMPLATES[l.family][l.template]!.replace(l.family === "base64" ? "{payload}" : "{request}", () => (l.family === "base64" ? Buffer.from(request).toString("base64") : request)));
  });
  assert.deepEqual(benignLookalikes(bases, 5), out);
  const templates = (seed: number) => bases.map((b) => lookalikeOf("roleplay", b, seed).template).join(",");
  assert.notEqual(templates(5), templates(6));
  assert.throws(() => lookalikeOf("pirate" as never, bases[0]!, 0), /unknown look-alike family 'pirate'/);
});

test("look-alike templates are within 35% of the mean length of the attack templates they imitate", () => {
  const mean = (xs: readonly string[]) => xs.reduce((s, x) => s + x.length, 0) / xs.length;
  for (const [family, attack] of [["roleplay", ROLEPLAY_TEMPLATES], ["ignore-previous", INJECTION_TEMPLATES], ["base64", BASE64_TEMPLATES]] as const) {
    const ratio = mean(LOOKALIKE_TEMPLATES[family]) / mean(attack);
    assert.ok(ratio > 0.65 && ratio < 1.35, `${family}: ${ratio.toFixed(2)}`);
  }
});
