import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeMarkdown, escapeXml, truncate } from "../../src/report/escape.js";

// An independent decoder for the five entities escapeXml writes.
const decode = (s: string): string => s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'" })[e]!);

const SAMPLES = ['<script>alert("x")</script>', "a & b &amp; c", "it's ]]> <!-- -->", "emoji 😀 and ü", "tab\tnew\nline"];

test("escapeXml leaves no markup characters and decodes back to the input", () => {
  for (const s of SAMPLES) {
    const e = escapeXml(s);
    assert.ok(!/[<>"']/.test(e), e);
    assert.ok(!/&(?!(amp|lt|gt|quot|#39);)/.test(e), e);
    assert.equal(decode(e), s);
  }
});

test("escapeXml replaces characters XML 1.0 forbids (C0 controls, lone surrogates) with U+FFFD", () => {
  assert.equal(escapeXml("a\u0000b\u0008c\u001fd\ud800e"), "a\ufffdb\ufffdc\ufffdd\ufffde");
  assert.equal(escapeXml("ok\t\n\r😀"), "ok\t\n\r😀");
});

test("escapeMarkdown keeps a table cell one cell and one line, with no live HTML or emphasis", () => {
  const e = escapeMarkdown("a | b *c* _d_ `e` [f](g) <b>h</b>\nnext");
  assert.ok(!/(?<!\\)\|/.test(e), "an unescaped pipe");
  assert.ok(!e.includes("\n") && !e.includes("<"));
  assert.equal(e, "a \\| b \\*c\\* \\_d\\_ \\`e\\` \\[f\\](g) &lt;b&gt;h&lt;/b&gt; ⏎ next");
});

test("truncate cuts at a character count without splitting surrogate pairs and says how much was cut", () => {
  assert.equal(truncate("abcdef", 6), "abcdef");
  assert.equal(truncate("😀😀😀x", 2), "😀😀… (2 more characters)");
});
