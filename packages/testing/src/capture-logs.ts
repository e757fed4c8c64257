import { Writable } from "node:stream";

export interface CapturedLogs {
  /** Pass as pino's destination (e.g. `createLogger({ destination })`). */
  destination: Writable;
  /** Complete lines written so far. */
  lines(): string[];
  /** Everything written so far, as one string. */
  text(): string;
  /** Complete lines parsed as JSON (pino's output); a line that is not JSON throws. */
  records(): Record<string, unknown>[];
}

/** Collects what a logger writes, to assert on log lines (and on what must never appear in them, like secrets). */
export function captureLogs(): CapturedLogs {
  let buffer = "";
  const destination = new Writable({
    // Synchronous callback so a line is visible as soon as the logger call returns.
    write(chunk: Buffer | string, _encoding, callback) {
      buffer += typeof chunk === "string" ? chunk : chunk.toString("utf8");
      callback();
    },
  });
  const lines = (): string[] => {
    const parts = buffer.split("\n");
    parts.pop(); // the unterminated tail, if any
    return parts;
  };
  return {
    destination,
    lines,
    text: () => buffer,
    records: () => lines().filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
