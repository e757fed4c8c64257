import type { ResourceWork } from "@pragma/contracts";
import type { LogLine } from "@pragma/provider-sdk";
import type { ProcessDeps, WorkInput } from "./ports";

/**
 * "started", reported late: the result is published, and the resource log's "… started" line
 * written, only once the hook has run for startedReportDelayMs (0: at once) or, for the line,
 * once the hook logs something itself. A quick event then goes pending → ready in one step and
 * sends its two lines in one Redis command (with its outcome, Lease.complete).
 */
export interface StartedReport {
  /** Cancels a report not yet sent and waits for the confirm of one that was, so "started" always precedes the outcome. */
  settle(): Promise<void>;
  /** Appends a line to the resource log, after the held "started" line. Never rejects. */
  append(line: Omit<LogLine, "at">): void;
  /** The held "started" line (if not yet written) and then these, for a script that writes them with other things. */
  take(...more: LogLine[]): LogLine[];
  /** Writes the held line if it is still held (whatever ended the event). */
  close(): void;
}

export function reportStarted(deps: Pick<ProcessDeps, "publishResult" | "resourceLog" | "startedReportDelayMs">, input: WorkInput, base: Record<string, unknown>, attempt: number): StartedReport {
  const now = () => new Date().toISOString();
  const work: ResourceWork = input.work;
  let held: LogLine | undefined = { at: now(), level: "info", message: `${work.event_type} started`, fields: { event_id: work.event_id, attempt } };
  const take = (...more: LogLine[]) => {
    const lines = held ? [held, ...more] : more;
    held = undefined;
    return lines;
  };
  const write = (lines: LogLine[]) => void (lines.length === 0 ? undefined : deps.resourceLog.append(work, ...lines).catch(() => undefined));
  const flush = () => {
    if (held) write(take());
  };

  let sent: Promise<void> | undefined;
  const send = () => {
    sent = deps.publishResult("started", { ...base, attempt, at: now() }, input);
    sent.catch(() => undefined); // observed by settle()
  };
  let timer: NodeJS.Timeout | undefined;
  if (deps.startedReportDelayMs <= 0) {
    send();
    flush();
  } else {
    timer = setTimeout(() => {
      send();
      flush();
    }, deps.startedReportDelayMs);
  }
  return {
    settle() {
      clearTimeout(timer);
      return sent ?? Promise.resolve();
    },
    append(line) {
      write(take({ at: now(), ...line }));
    },
    take,
    close() {
      clearTimeout(timer);
      flush();
    },
  };
}
