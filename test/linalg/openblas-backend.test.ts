// The numeric conformance suite on OpenBLAS/LAPACK; skipped with one line where the library is absent
// (a failure under MADKIT_REQUIRE_REFERENCES=1, so CI always runs it).

import { openblas, OPENBLAS_DEBIAN_PACKAGES } from "../../src/linalg/openblas.js";
import { linalgConformance } from "../conformance/linalg.conformance.js";
import { missingReference } from "../helpers/reference-tools.js";

function openblasMissing(): string | undefined {
  try {
    openblas();
    return undefined;
  } catch {
    return missingReference("the OpenBLAS shared library (libopenblas.so.0)", OPENBLAS_DEBIAN_PACKAGES);
  }
}

linalgConformance("openblas", openblasMissing());
