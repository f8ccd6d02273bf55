// The system OpenBLAS (BLAS + its bundled LAPACK) called through koffi: the fast back end where it loads
// (active-backend.ts falls back to the portable kernels where it does not). Loaded lazily on first use;
// OPENBLAS_CORETYPE is chosen from /proc/cpuinfo before the library loads, because OpenBLAS mis-detects
// virtualised CPUs as an old core and runs ~5x slower.

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { MadkitError } from "../errors.js";

/** Debian packages that provide the library; named in the error when it is missing. */
export const OPENBLAS_DEBIAN_PACKAGES = "libopenblas0-pthread liblapack3";

/** How to install it, for messages. */
export const OPENBLAS_INSTALL_HINT =
  `apt-get install ${OPENBLAS_DEBIAN_PACKAGES} (Debian/Ubuntu), dnf install openblas (Fedora) or brew install openblas (macOS)`;

const LIBRARY_NAMES = [
  "libopenblas.so.0",
  "libopenblas.so",
  "libopenblas.0.dylib",
  "libopenblas.dylib",
  // Homebrew does not link openblas into the loader's path (it is keg-only).
  "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
  "/usr/local/opt/openblas/lib/libopenblas.dylib",
];

type Fn = (...args: unknown[]) => unknown;

export interface OpenBlas {
  readonly cblas_sgemm: Fn;
  readonly cblas_dgemm: Fn;
  readonly cblas_dsyrk: Fn;
  readonly cblas_ssyrk: Fn;
  readonly cblas_sgemv: Fn;
  readonly cblas_dgemv: Fn;
  readonly cblas_sger: Fn;
  readonly cblas_dger: Fn;
  readonly dsyevd_: Fn;
  readonly dpotrf_: Fn;
  readonly dpotrs_: Fn;
  readonly dtrtri_: Fn;
  /** Threads OpenBLAS may use for one call (openblas_set_num_threads). */
  readonly setThreads: (n: number) => void;
  /** e.g. "OpenBLAS 0.3.21 ... SkylakeX" — for benchmark reports. */
  readonly config: string;
}

let cached: OpenBlas | undefined;
let threadLimit: number | undefined;

/**
 * At most `n` OpenBLAS threads per call from now on: applied at once when the library is loaded, otherwise
 * when it loads (so a caller that may never need BLAS does not load it just to set this).
 */
export function limitBlasThreads(n: number): void {
  threadLimit = n;
  cached?.setThreads(n);
}

/**
 * The kernel set for this CPU: SkylakeX needs AVX-512F, Haswell needs AVX2; with neither, let OpenBLAS
 * detect (forcing a kernel the CPU lacks crashes with an illegal instruction). A user's explicit setting wins.
 */
export function chooseCoreType(cpuinfo: string): string | undefined {
  const flags = new Set((/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1] ?? "").trim().split(/\s+/));
  if (flags.has("avx512f")) return "SkylakeX";
  if (flags.has("avx2")) return "Haswell";
  return undefined;
}

function setCoreType(): void {
  if (process.env.OPENBLAS_CORETYPE) return;
  if (!existsSync("/proc/cpuinfo")) return;
  const core = chooseCoreType(readFileSync("/proc/cpuinfo", "utf8"));
  if (core) process.env.OPENBLAS_CORETYPE = core;
}

/** Load (once) and return the bound functions; throws a MadkitError naming the packages when absent or incomplete. */
export function openblas(): OpenBlas {
  if (cached) return cached;
  setCoreType();
  const require = createRequire(import.meta.url);
  let koffi: typeof import("koffi");
  try {
    koffi = require("koffi") as typeof import("koffi");
  } catch (e) {
    throw new MadkitError("NOT_SUPPORTED", `the npm package 'koffi' (C calls into OpenBLAS) failed to load: ${(e as Error).message}`);
  }
  let lib: ReturnType<typeof koffi.load> | undefined;
  const failures: string[] = [];
  for (const name of LIBRARY_NAMES) {
    try {
      lib = koffi.load(name);
      break;
    } catch (e) {
      failures.push(`${name}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  if (!lib) {
    throw new MadkitError(
      "NOT_SUPPORTED",
      `the OpenBLAS shared library did not load (${failures.join("; ")}); install it with: ${OPENBLAS_INSTALL_HINT}`,
    );
  }
  const f = (decl: string): Fn => {
    try {
      return lib!.func(decl) as Fn;
    } catch (e) {
      throw new MadkitError("NOT_SUPPORTED", `the loaded OpenBLAS lacks ${decl.split("(")[0]} (${(e as Error).message}); install it with: ${OPENBLAS_INSTALL_HINT}`);
    }
  };
  // CBLAS enums are plain ints: RowMajor = 101, NoTrans = 111, Trans = 112, Upper = 121, Lower = 122.
  cached = {
    cblas_sgemm: f("void cblas_sgemm(int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int)"),
    cblas_dgemm: f("void cblas_dgemm(int, int, int, int, int, int, double, double*, int, double*, int, double, double*, int)"),
    cblas_dsyrk: f("void cblas_dsyrk(int, int, int, int, int, double, double*, int, double, double*, int)"),
    cblas_ssyrk: f("void cblas_ssyrk(int, int, int, int, int, float, float*, int, float, float*, int)"),
    cblas_sgemv: f("void cblas_sgemv(int, int, int, int, float, float*, int, float*, int, float, float*, int)"),
    cblas_dgemv: f("void cblas_dgemv(int, int, int, int, double, double*, int, double*, int, double, double*, int)"),
    cblas_sger: f("void cblas_sger(int, int, int, float, float*, int, float*, int, float*, int)"),
    cblas_dger: f("void cblas_dger(int, int, int, double, double*, int, double*, int, double*, int)"),
    // Fortran LAPACK: every argument by pointer, column-major (a symmetric matrix is its own transpose).
    dsyevd_: f("void dsyevd_(char*, char*, int*, double*, int*, double*, double*, int*, int*, int*, int*)"),
    dpotrf_: f("void dpotrf_(char*, int*, double*, int*, int*)"),
    dpotrs_: f("void dpotrs_(char*, int*, int*, double*, int*, double*, int*, int*)"),
    dtrtri_: f("void dtrtri_(char*, char*, int*, double*, int*, int*)"),
    setThreads: f("void openblas_set_num_threads(int)") as (n: number) => void,
    config: String((f("char* openblas_get_config()") as Fn)()),
  };
  if (threadLimit !== undefined) cached.setThreads(threadLimit);
  return cached;
}
