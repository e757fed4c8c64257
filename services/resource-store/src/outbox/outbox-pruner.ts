import { idsBefore } from "@pragma/ids";
import type { Logger } from "@pragma/logger";
import type { OutboxRepository } from "../data/outbox.repository";
import type { PgChangeLog } from "../data/change-log.repository";
import type { PgRequestAnswers } from "../data/request-answers.repository";

export interface PrunerOptions {
  logger: Logger;
  retentionMs: number;
  intervalMs: number;
  /** Rows per DELETE (one short transaction each), and at most this many rounds per run. */
  batchSize?: number;
  maxBatches?: number;
  now?: () => number;
}

/**
 * Deletes rows past their retention every intervalMs, a batch per short transaction,
 * until a batch comes back short. Subclasses say which rows.
 */
abstract class RetentionPruner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(
    private readonly opts: PrunerOptions,
    private readonly what: string,
  ) {}

  /** Deletes at most `limit` rows older than `before`; how many went. */
  protected abstract pruneBatch(before: Date, limit: number): Promise<number>;

  start(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One run: deletes in batches until a batch comes back short; returns how many rows went. */
  async pruneOnce(): Promise<number> {
    const batch = this.opts.batchSize ?? 5_000;
    const before = new Date((this.opts.now ?? Date.now)() - this.opts.retentionMs);
    let total = 0;
    for (let i = 0; i < (this.opts.maxBatches ?? 100) && !this.stopped; i++) {
      const n = await this.pruneBatch(before, batch);
      total += n;
      if (n < batch) break;
    }
    if (total > 0) this.opts.logger.info({ deleted: total, before: before.toISOString(), what: this.what }, "rows past retention deleted");
    return total;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pruneOnce()
        .catch((err: unknown) => this.opts.logger.warn({ err, what: this.what }, "prune failed; next run at the next interval"))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.opts.intervalMs);
    this.timer.unref();
  }
}

/**
 * Published outbox events past their retention. Without it the table keeps every event
 * ever relayed, and each one is written once more per change. Held and pending events are
 * never touched, nor are cancelled ones (few; the relay's role does not see them).
 */
export class OutboxPruner extends RetentionPruner {
  constructor(private readonly deps: PrunerOptions & { outbox: Pick<OutboxRepository, "prunePublished"> }) {
    super(deps, "outbox_events");
  }

  protected pruneBatch(before: Date, limit: number): Promise<number> {
    return this.deps.outbox.prunePublished(idsBefore("event", before), limit);
  }
}

/** The watch's change log past its retention (WATCH_RETENTION_SECONDS); a watcher older than that re-lists. */
export class ChangeLogPruner extends RetentionPruner {
  constructor(private readonly deps: PrunerOptions & { changeLog: Pick<PgChangeLog, "prune"> }) {
    super(deps, "resource_changes");
  }

  protected pruneBatch(before: Date, limit: number): Promise<number> {
    return this.deps.changeLog.prune(before, limit);
  }
}

/** Write requests' recorded first answers past REQUEST_ANSWER_RETENTION_HOURS: a repeat after that runs again. */
export class RequestAnswerPruner extends RetentionPruner {
  constructor(private readonly deps: PrunerOptions & { answers: Pick<PgRequestAnswers, "prune"> }) {
    super(deps, "request_answers");
  }

  protected pruneBatch(before: Date, limit: number): Promise<number> {
    return this.deps.answers.prune(before, limit);
  }
}
