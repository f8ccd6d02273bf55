// results.json on disk: written atomically (temp + rename), so a killed run never leaves half a file for the
// report or the README to read.

import path from "node:path";
import { writeFileAtomic } from "../io/atomic-write.js";
import type { BenchResults } from "../results/contract.js";

export const RESULTS_FILE = "results.json";

export function writeResults(results: BenchResults, outDir: string): string {
  const file = path.join(outDir, RESULTS_FILE);
  writeFileAtomic(file, JSON.stringify(results, null, 1) + "\n");
  return file;
}
