// One error class for everything madkit reports to a user: a stable `code` for programs, and a message
// that names the thing, what was expected and what was found. The CLI prints `message` without a stack.

export type MadkitErrorCode =
  | "FILE_NOT_FOUND"
  | "MALFORMED_MODEL"
  | "TOKENIZER_MISMATCH"
  | "UNKNOWN_HOOK"
  | "DEGENERATE_HOOK"
  | "UNKNOWN_MODEL"
  | "BAD_INPUT"
  | "BAD_ARGUMENT"
  | "DIMENSION_MISMATCH"
  | "NON_FINITE"
  | "STORE_CORRUPT"
  | "STORE_MISMATCH"
  | "VERSION_MISMATCH"
  | "NOT_SUPPORTED";

export class MadkitError extends Error {
  readonly code: MadkitErrorCode;
  constructor(code: MadkitErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MadkitError";
    this.code = code;
  }
}

export function isMadkitError(e: unknown): e is MadkitError {
  return e instanceof MadkitError;
}
