// Varied real strings for the USE-lite tests and benchmark: TinyStories paragraphs, self-instruct
// instructions, in-the-wild jailbreak prompt lines (odd unicode, emoji) and hand-made edge cases.

import { readFileSync } from "node:fs";
import path from "node:path";
import { config } from "../../../src/config.js";

function dataFile(...parts: string[]): string {
  return readFileSync(path.join(config.sharedDir, "data", ...parts), "utf8");
}

/** The `instruction` field of the self-instruct seed tasks, then the user-oriented ones. */
export function selfInstructInstructions(): string[] {
  const out: string[] = [];
  for (const file of ["seed_tasks.jsonl", "user_oriented_instructions.jsonl"]) {
    for (const line of dataFile("self_instruct", file).split("\n")) {
      if (line.trim().length === 0) continue;
      out.push((JSON.parse(line) as { instruction: string }).instruction);
    }
  }
  return out;
}

export function tinyStoriesParagraphs(): string[] {
  return dataFile("tinystories", "tinystories_sample_niklas6.txt")
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/** Physical lines of the jailbreak prompt CSV that hold non-ASCII characters (emoji, fancy letters, quotes). */
export function jailbreakUnicodeLines(): string[] {
  return dataFile("jailbreak_llms", "jailbreak_prompts_2023_05_07.csv")
    .split("\n")
    .filter((l) => /[^\x00-\x7f]/.test(l));
}

export const EDGE_CASES: readonly string[] = [
  "",
  " ",
  "   ",
  "\t",
  "\n",
  "a",
  "A",
  "  leading and trailing  ",
  "double  space",
  "\u2581",
  "\u2581\u2581 already marked",
  "中文字符",
  "😀",
  "😀😀 🔓🔒",
  "ﬁ ligature and ① circled and ｆｕｌｌｗｉｄｔｈ",
  "e\u0301 combining accent",
  "\u200b zero width",
  ":00 12:00 :00:00",
  "”5 ”5”5",
  "$$$ ### @@@ ~~~",
  "x".repeat(300),
];
