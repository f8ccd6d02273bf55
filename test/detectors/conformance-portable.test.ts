// The detector conformance suite on the portable TypeScript back end, whatever this machine has: the path a
// machine without OpenBLAS takes must pass the same suite.

import { useLinalgBackend } from "../../src/linalg/active-backend.js";
import { everyDetectorConformance } from "../conformance/every-detector.js";

useLinalgBackend("portable");
everyDetectorConformance(" [portable back end]");
