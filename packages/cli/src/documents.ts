import { readFileSync } from "node:fs";
import { UsageError } from "./errors";
import type { Io } from "./io";

/** Reads a file argument; `-` is stdin, so `kubectl`-style pipelines work. */
export async function readInput(io: Io, file: string): Promise<string> {
  if (file === "-") return io.readStdin();
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}${code ? ` (${code})` : ""}`, "check the path given to -f");
  }
}

/** zod issues as "path: message" lines, for local validation before anything is sent. */
export function zodProblems(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.map(String).join(".") : "body"}: ${i.message}`);
}

export function validationError(what: string, problems: readonly string[]): UsageError {
  return new UsageError(`${what} is invalid:\n  ${problems.join("\n  ")}`, "fix the problems above; nothing was sent");
}
