// Find a Python interpreter with the modules a reference test needs (numpy, scikit-learn). Debian's
// /usr/bin/python3 comes first: CI installs python3-numpy and python3-sklearn there. Under CI a missing
// reference is a failure; elsewhere the test is skipped with the reason.

import { spawnSync } from "node:child_process";

const CANDIDATES = ["/usr/bin/python3", "python3"];

export function findPython(modules: readonly string[]): string | undefined {
  const probe = modules.map((m) => `import ${m}`).join("; ") || "pass";
  for (const exe of CANDIDATES) {
    const r = spawnSync(exe, ["-c", probe], { encoding: "utf8" });
    if (r.status === 0) return exe;
  }
  return undefined;
}

/** The interpreter, or a skip reason; throws under CI so a missing reference can't pass silently. */
export function requirePython(modules: readonly string[]): { python?: string; skip?: string } {
  const python = findPython(modules);
  if (python) return { python };
  const reason = `no python3 with ${modules.join(", ")} (install Debian's python3-numpy python3-sklearn)`;
  if (process.env.CI) throw new Error(`CI requires a reference python: ${reason}`);
  return { skip: reason };
}

export function runPython(python: string, script: string, args: readonly string[] = []): string {
  const r = spawnSync(python, ["-c", script, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`python failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout;
}
