// The one config object: where shared models and data live and where caches go. Defaults resolve
// relative to the project root; environment variables override them (MADKIT_SHARED, MADKIT_CACHE).

import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

function findProjectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

export const projectRoot = findProjectRoot();

export const config = {
  /** Folder holding `models/` and `data/` (see README: how to obtain them). */
  sharedDir: process.env.MADKIT_SHARED ?? path.resolve(projectRoot, "..", "shared"),
  /** Where trained checkpoints, exported models and activation caches go. */
  cacheDir: process.env.MADKIT_CACHE ?? path.resolve(projectRoot, ".madkit-cache"),
};
