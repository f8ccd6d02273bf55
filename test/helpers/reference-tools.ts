// The one place that decides what a missing reference tool means for a test. Reference tools are what some
// tests compare against or drive, outside npm: Debian's python3 with numpy / scikit-learn, PostgreSQL's server
// binaries, Chromium, and the shared stories260K checkpoint. On a machine without one, the test is skipped
// with a single line naming what is missing and the Debian package that brings it (for the checkpoint: where
// it is looked for). With
// MADKIT_REQUIRE_REFERENCES=1 (.ci/run sets it) the same absence is that test's failure instead, so CI cannot
// pass with a reference comparison silently skipped. Call these inside the test (t.skip(missingReference(…)))
// so that, when references are required, the failure belongs to the test that needed the tool.

export const REQUIRE_REFERENCES = "MADKIT_REQUIRE_REFERENCES";

/** Whether a missing reference is a failure: MADKIT_REQUIRE_REFERENCES=1. Unset, empty or 0: skip. */
export function referencesRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[REQUIRE_REFERENCES];
  if (v === undefined || v === "" || v === "0") return false;
  if (v === "1") return true;
  throw new Error(`${REQUIRE_REFERENCES} must be 1 (missing reference tools fail the tests) or unset / 0 (they skip), not '${v}'`);
}

function skipOrThrow(reason: string, env: NodeJS.ProcessEnv): string {
  if (referencesRequired(env)) throw new Error(`${REQUIRE_REFERENCES}=1 and ${reason}`);
  return reason;
}

/**
 * The skip reason for a missing reference tool, e.g. `Chromium (/usr/bin/chromium) not found (Debian package:
 * chromium)`; throws that line instead under MADKIT_REQUIRE_REFERENCES=1.
 */
export function missingReference(what: string, debianPackages: string, env: NodeJS.ProcessEnv = process.env): string {
  const packages = debianPackages.trim();
  return skipOrThrow(`${what} not found (Debian package${/\s/.test(packages) ? "s" : ""}: ${packages})`, env);
}

/** The same for a file of the shared folder (`$MADKIT_SHARED`, default ../shared), which no Debian package brings. */
export function missingSharedFile(file: string, env: NodeJS.ProcessEnv = process.env): string {
  return skipOrThrow(`${file} not found (the shared models folder; point MADKIT_SHARED at it)`, env);
}
