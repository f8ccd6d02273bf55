// The one record every data-set loader returns, and the clean-up every loader applies: trimmed text,
// empty texts dropped, duplicates (by exact trimmed text) removed keeping the first occurrence.

export interface TextRecord {
  /** Stable across runs: `<source>:<row index in the file>` (index before deduplication). */
  readonly id: string;
  readonly text: string;
  /** Which file it came from, e.g. `advbench/harmful_behaviors`. */
  readonly source: string;
}

/** Trim, drop empties, keep the first record of each distinct text. Order is otherwise preserved. */
export function cleanRecords<R extends TextRecord>(records: readonly R[]): R[] {
  const seen = new Set<string>();
  const out: R[] = [];
  for (const r of records) {
    const text = r.text.trim();
    if (text === "" || seen.has(text)) continue;
    seen.add(text);
    out.push(text === r.text ? r : { ...r, text });
  }
  return out;
}
