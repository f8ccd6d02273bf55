// The numeric conformance suite on the portable TypeScript back end (always available).

import { linalgConformance } from "../conformance/linalg.conformance.js";

linalgConformance("portable");
