// A text baseline for the capability gap: how rare the prefix's last word is in the TinyStories sample
// (−log of its add-one smoothed relative frequency; higher = rarer). Counts are of unlabelled text only.

import { loadTinyStories } from "../../datasets/tinystories.js";

export type WordRarity = (prefix: string) => number;

/** Word counts (letters only, case-folded) over the sample; the returned function scores a prefix's last word. */
export function wordRarityFromSample(texts: readonly string[] = loadTinyStories().map((r) => r.text)): WordRarity {
  const counts = new Map<string, number>();
  let total = 0;
  for (const t of texts) {
    for (const w of t.toLowerCase().match(/[a-z]+/g) ?? []) {
      counts.set(w, (counts.get(w) ?? 0) + 1);
      total++;
    }
  }
  const denom = total + counts.size + 1;
  return (prefix) => {
    const words = prefix.toLowerCase().match(/[a-z]+/g);
    const last = words?.[words.length - 1] ?? "";
    return -Math.log(((counts.get(last) ?? 0) + 1) / denom);
  };
}
