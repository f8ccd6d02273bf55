// The report's public surface: render a results object to a report folder, read results.json, and keep the
// README's Results section in step with a run.

export { renderReport, type RenderOptions } from "./render-report.js";
export { readResults, checkResults } from "./load-results.js";
export { readmeResultsSection, updateReadme, RESULTS_START, RESULTS_END } from "./readme.js";
