// The tasks madkit ships, by name. Adding a task = one builder file + one line here.

import { MadkitError } from "../errors.js";
import { buildBackdoorPhrase, buildBackdoorPosition, buildBackdoorRare, buildBackdoorSemantic } from "./backdoor.js";
import { buildBenignShift } from "./benign-shift.js";
import { buildJailbreakOod } from "./jailbreak-ood.js";
import { buildStoryOod } from "./story-ood.js";
import type { BuildTaskOptions, Task } from "./task.js";

export const TASKS = {
  "jailbreak-ood": buildJailbreakOod,
  "benign-shift": buildBenignShift,
  "story-ood": buildStoryOod,
  "backdoor-rare": buildBackdoorRare,
  "backdoor-phrase": buildBackdoorPhrase,
  "backdoor-position": buildBackdoorPosition,
  "backdoor-semantic": buildBackdoorSemantic,
} as const satisfies Record<string, (options: BuildTaskOptions) => Task>;

export type TaskName = keyof typeof TASKS;

export const TASK_NAMES = Object.keys(TASKS) as TaskName[];

export function isTaskName(name: string): name is TaskName {
  return Object.prototype.hasOwnProperty.call(TASKS, name);
}

/** Build a task by name; the same name and options give the same task, item for item. */
export function buildTask(name: string, options: BuildTaskOptions): Task {
  if (!isTaskName(name)) {
    throw new MadkitError("BAD_ARGUMENT", `unknown task '${name}'; expected one of ${TASK_NAMES.join(", ")}`);
  }
  if (!Number.isInteger(options.seed)) {
    throw new MadkitError("BAD_ARGUMENT", `task seed must be an integer, got ${String(options.seed)}`);
  }
  return TASKS[name](options);
}
