// Story corruptions: shuffling keeps exactly the words and changes their order; injection adds one table
// sentence at a sentence start, and cutting it out gives the story back; both are seeded.

import assert from "node:assert/strict";
import { test } from "node:test";
import { loadTinyStories } from "../../src/datasets/tinystories.js";
import { corruptStory, INJECTED_INSTRUCTIONS, sentenceStarts, shuffleWords } from "../../src/tasks/story-corruptions.js";

const stories = loadTinyStories().filter((r) => r.text.split(/\s+/).length >= 8).slice(0, 80);

test("shuffled stories hold the same multiset of words in a different order", () => {
  for (const s of stories) {
    const c = corruptStory("story-shuffled", s, 1);
    const words = s.text.split(/\s+/);
    assert.deepEqual(c.text.split(" ").sort(), words.slice().sort());
    assert.notEqual(c.text, words.join(" "));
  }
});

test("cutting the injected sentence out of a story gives the original back", () => {
  const instructions = new Set(INJECTED_INSTRUCTIONS);
  for (const s of stories) {
    const c = corruptStory("story-injected", s, 1);
    assert.ok(instructions.has(c.instruction!));
    const at = c.at!;
    assert.equal(c.text.slice(at, at + c.instruction!.length), c.instruction);
    assert.equal(c.text.slice(0, at) + c.text.slice(at + c.instruction!.length + 1), s.text);
    assert.ok(at === 0 || sentenceStarts(s.text).includes(at));
  }
});

test("corruptions are identical for one seed and vary across seeds", () => {
  for (const f of ["story-shuffled", "story-injected"] as const) {
    const a = stories.map((s) => corruptStory(f, s, 4));
    assert.deepEqual(a, stories.map((s) => corruptStory(f, s, 4)));
    const b = stories.map((s) => corruptStory(f, s, 5));
    assert.ok(a.filter((x, i) => x.text !== b[i]!.text).length > stories.length / 2);
  }
});

test("sentence starts are found after . ! ? and closing quotes", () => {
  const t = 'Tom ran. "Stop!" said Mom. Why? Because.';
  assert.deepEqual(sentenceStarts(t).map((i) => t.slice(i, i + 3)), ['"St', "sai", "Why", "Bec"]);
  assert.equal(shuffleWords("same same same", 1), "same same same");
});
