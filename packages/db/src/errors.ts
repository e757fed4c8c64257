export type MigrationProblemKind =
  | "checksum-mismatch"
  | "unfinished"
  | "missing-locally"
  | "invalid-layout"
  | "failed";

export interface MigrationProblem {
  kind: MigrationProblemKind;
  migration: string;
  detail: string;
}

/**
 * Thrown instead of starting a service on a database whose history disagrees with
 * the migrations folder. Every problem is listed so one restart shows them all.
 */
export class MigrationError extends Error {
  override readonly name = "MigrationError";
  readonly problems: MigrationProblem[];

  constructor(problems: MigrationProblem[], options?: { cause?: unknown }) {
    super(
      `database migrations cannot be applied:\n${problems.map((p) => `  - ${p.migration}: ${p.detail}`).join("\n")}`,
      options,
    );
    this.problems = problems;
  }
}
