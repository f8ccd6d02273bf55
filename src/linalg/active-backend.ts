// Which numeric back end this process uses. Chosen once, on the first kernel call: OpenBLAS/LAPACK when the
// system library loads, otherwise the portable TypeScript kernels; `MADKIT_LINALG=openblas|portable` forces
// one (a forced OpenBLAS that cannot load is an error, not a silent fallback). The choice is announced in
// one line on stderr, with the way to the faster back end when the portable one runs.

import { MadkitError } from "../errors.js";
import type { BackendName, LinalgBackend } from "./backend.js";
import { openblas, OPENBLAS_INSTALL_HINT } from "./openblas.js";
import { openblasBackend } from "./openblas-backend.js";
import { portableBackend } from "./portable/index.js";

export const LINALG_ENV = "MADKIT_LINALG";

/**
 * How much faster OpenBLAS runs than the portable kernels, in words: the numbers belong to the machine that measured
 * them (`npm run bench:linalg` here; docs/numerics.md has dated tables), not to a string printed on every machine.
 */
export const MEASURED_OPENBLAS_SPEEDUP = "many times faster per kernel and somewhat faster on the main job (`npm run bench:linalg` measures it here; dated measurements in docs/numerics.md)";

let active: LinalgBackend | undefined;
let announce: (line: string) => void = (line) => process.stderr.write(`${line}\n`);

function requestedBackend(): BackendName | "auto" {
  const raw = (process.env[LINALG_ENV] ?? "").trim().toLowerCase();
  if (raw === "" || raw === "auto") return "auto";
  if (raw === "openblas" || raw === "portable") return raw;
  throw new MadkitError("BAD_ARGUMENT", `${LINALG_ENV}=${process.env[LINALG_ENV]} is not a back end: expected openblas, portable or auto`);
}

/** The back end by name, loading OpenBLAS if asked for it (throws naming the packages when it cannot load). */
export function backendByName(name: BackendName): LinalgBackend {
  return name === "portable" ? portableBackend : openblasBackend(openblas());
}

/** The process-wide back end, chosen and announced on first use. */
export function linalgBackend(): LinalgBackend {
  if (active) return active;
  const wanted = requestedBackend();
  if (wanted !== "auto") {
    active = backendByName(wanted);
    announce(`madkit: linear algebra on ${active.name} (${LINALG_ENV}=${wanted}): ${active.description}`);
    return active;
  }
  try {
    active = backendByName("openblas");
    announce(`madkit: linear algebra on openblas: ${active.description}`);
  } catch (e) {
    if (!(e instanceof MadkitError)) throw e;
    active = portableBackend;
    announce(
      `madkit: linear algebra on the portable TypeScript back end (OpenBLAS/LAPACK did not load); ` +
        `OpenBLAS is ${MEASURED_OPENBLAS_SPEEDUP}: ${OPENBLAS_INSTALL_HINT}`,
    );
  }
  return active;
}

/**
 * Use this back end from now on in this process (tests run a suite per back end; benchmarks compare them).
 * Announces nothing.
 */
export function useLinalgBackend(name: BackendName): LinalgBackend {
  active = backendByName(name);
  return active;
}

/** Where the one-line announcement goes (tests capture it); returns the previous sink. */
export function setBackendAnnouncer(sink: (line: string) => void): (line: string) => void {
  const previous = announce;
  announce = sink;
  return previous;
}

/** Forget the choice, so the next kernel call chooses again (tests of the selection itself). */
export function resetLinalgBackend(): void {
  active = undefined;
}
