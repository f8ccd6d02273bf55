// `madkit paper`: PAPER.md from a bench run's results.json and the hand-written prose in docs/paper/ (src/report/
// paper.ts). The figures go beside it as SVG files; nothing is written unless every number in the results sections
// is one the run produced.

import { existsSync, mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { projectRoot } from "../config.js";
import { MadkitError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-write.js";
import { readResults } from "../report/load-results.js";
import { buildPaper, PAPER_PROSE, type PaperProse } from "../report/paper.js";
import type { CliIo } from "./cli-io.js";

/** The prose sections, each a Markdown file `<name>.md` in `dir`. */
export function readPaperProse(dir: string): PaperProse {
  const entries = PAPER_PROSE.map((name) => {
    const file = path.join(dir, `${name}.md`);
    if (!existsSync(file)) throw new MadkitError("FILE_NOT_FOUND", `paper: prose section '${name}' not found: expected ${file}`);
    return [name, readFileSync(file, "utf8")] as const;
  });
  return Object.fromEntries(entries) as PaperProse;
}

export function paperCommand(program: Command, io: CliIo): Command {
  return program
    .command("paper")
    .description("write PAPER.md from a bench run's results.json and the prose in docs/paper/")
    .option("--results <file>", "results.json of a bench run", "report/results.json")
    .option("--prose <dir>", "folder of the hand-written sections", path.join(projectRoot, "docs", "paper"))
    .option("--out <file>", "the paper to write; its figures go to paper-figures/ beside it", "PAPER.md")
    .action((flags: { results: string; prose: string; out: string }) => {
      const paper = buildPaper(readResults(flags.results), readPaperProse(flags.prose), "paper-figures");
      const figDir = path.join(path.dirname(flags.out), "paper-figures");
      mkdirSync(figDir, { recursive: true });
      for (const f of paper.figures) writeFileAtomic(path.join(figDir, f.file), f.svg);
      writeFileAtomic(flags.out, paper.markdown);
      io.stderr.write(`wrote ${flags.out} and ${paper.figures.length} figure(s) in ${figDir} from ${flags.results}\n`);
    });
}
