// verazuo/jailbreak_llms (Shen et al., "Do Anything Now", CCS 2024; MIT): 666 in-the-wild jailbreak prompts
// collected from Discord, Reddit and websites up to 2023-05-07, and 390 forbidden questions (13 policies x 30).
// Prompts are long role-play templates; many hold a placeholder such as "[INSERT PROMPT HERE]" for the question.

import { type DataLocation, readSharedCsv } from "./shared-data-file.js";
import { cleanRecords, type TextRecord } from "./text-record.js";

export interface JailbreakPromptRecord extends TextRecord {
  readonly platform: string;
}

export function loadInTheWildJailbreaks(location: DataLocation = {}): JailbreakPromptRecord[] {
  const source = "jailbreak_llms/jailbreak_prompts_2023_05_07";
  const rows = readSharedCsv(`${source}.csv`, ["platform", "prompt", "jailbreak"], location);
  return cleanRecords(
    rows
      .map((r, i) => ({ id: `${source}:${i}`, text: r.prompt!, source, platform: r.platform!, jailbreak: r.jailbreak! }))
      // The file lists only prompts labelled jailbreaks; the filter keeps that true if a later release mixes them.
      .filter((r) => r.jailbreak.toLowerCase() === "true")
      .map(({ jailbreak: _j, ...r }) => r),
  );
}

export interface ForbiddenQuestionRecord extends TextRecord {
  readonly policy: string;
}

export function loadForbiddenQuestions(location: DataLocation = {}): ForbiddenQuestionRecord[] {
  const source = "jailbreak_llms/forbidden_question_set";
  const rows = readSharedCsv(`${source}.csv`, ["content_policy_name", "question"], location);
  return cleanRecords(rows.map((r, i) => ({ id: `${source}:${i}`, text: r.question!, source, policy: r.content_policy_name! })));
}
