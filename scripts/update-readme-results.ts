// Splices the Results section generated from a bench run's results.json into README.md (between the
// `<!-- results:start -->` / `<!-- results:end -->` markers). Usage:
//   node --import tsx scripts/update-readme-results.ts [report/results.json] [README.md]

import { isMadkitError } from "../src/errors.js";
import { readResults } from "../src/report/load-results.js";
import { updateReadme } from "../src/report/readme.js";

const [resultsPath = "report/results.json", readmePath = "README.md"] = process.argv.slice(2);
try {
  updateReadme(readmePath, readResults(resultsPath));
  console.log(`${readmePath}: Results section regenerated from ${resultsPath}`);
} catch (e) {
  if (!isMadkitError(e)) throw e;
  console.error(e.message);
  process.exit(1);
}
