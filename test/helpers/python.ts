// Find a Python interpreter with the modules a reference test needs (numpy, scikit-learn). Debian's
// /usr/bin/python3 comes first: .ci/run installs python3-numpy and python3-sklearn there. A missing
// reference skips the test with one line naming it, or fails it under MADKIT_REQUIRE_REFERENCES=1
// (see reference-tools.ts).

import { spawnSync } from "node:child_process";
import { missingReference } from "./reference-tools.js";

const CANDIDATES = ["/usr/bin/python3", "python3"];

/** A module's project name where it differs from the import name; Debian packages a module as python3-<import name>. */
const MODULE_NAME: Readonly<Record<string, string>> = { sklearn: "scikit-learn" };

const found = new Map<string, string | undefined>();

/** The first interpreter that imports all `modules`, probed once per module list and process. */
export function findPython(modules: readonly string[]): string | undefined {
  const probe = modules.map((m) => `import ${m}`).join("; ") || "pass";
  if (!found.has(probe)) {
    let exe: string | undefined;
    for (const candidate of CANDIDATES) {
      const r = spawnSync(candidate, ["-c", probe], { encoding: "utf8" });
      if (r.status === 0) {
        exe = candidate;
        break;
      }
    }
    found.set(probe, exe);
  }
  return found.get(probe);
}

/** The skip reason for a python3 without `modules`; throws under MADKIT_REQUIRE_REFERENCES=1. */
export function missingPython(modules: readonly string[], env: NodeJS.ProcessEnv = process.env): string {
  const names = modules.map((m) => MODULE_NAME[m] ?? m);
  const packages = modules.length ? modules.map((m) => `python3-${m}`) : ["python3"];
  return missingReference(names.length ? `python3 with ${names.join(" and ")}` : "python3", packages.join(" "), env);
}

/** The interpreter, or a skip reason (call inside the test: throws under MADKIT_REQUIRE_REFERENCES=1). */
export function requirePython(modules: readonly string[]): { python?: string; skip?: string } {
  const python = findPython(modules);
  return python ? { python } : { skip: missingPython(modules) };
}

export function runPython(python: string, script: string, args: readonly string[] = []): string {
  const r = spawnSync(python, ["-c", script, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout;
}
