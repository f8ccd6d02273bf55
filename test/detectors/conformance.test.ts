// The detector conformance suite on the back end this machine chooses (OpenBLAS where it loads).

import { everyDetectorConformance } from "../conformance/every-detector.js";

everyDetectorConformance();
