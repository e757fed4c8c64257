/**
 * Exit codes are part of the CLI's contract: scripts branch on them.
 * 0 success, 1 the API or the runtime failed, 2 the user's input was wrong.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A failure the CLI explains itself: a message, an optional hint, and the exit code to leave with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Bad flags, arguments or files: nothing was sent, fix the input and retry. */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, EXIT_USAGE, hint);
    this.name = "UsageError";
  }
}

/** The API answered with an error body ({detail, code, request_id}). */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly detail: unknown,
    readonly code: string | undefined,
    readonly requestId: string | undefined,
    message: string,
    hint?: string,
  ) {
    super(message, EXIT_FAILURE, hint);
    this.name = "ApiError";
  }
}
