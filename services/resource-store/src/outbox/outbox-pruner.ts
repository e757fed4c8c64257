import { idsBefore } from "@pragma/ids";
import type { Logger } from "@pragma/logger";
import type { OutboxRepository } from "../data/outbox.repository";
import type { PgChangeLog } from "../data/change-log.repository";
import type { PgRequestAnswers } from "../data/request-answers.repository";
import { Periodic } from "../periodic";

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
  private readonly loop: Periodic;

  constructor(
    private readonly opts: PrunerOptions,
    private readonly what: string,
  ) {
    this.loop = new Periodic(
      () => this.pruneOnce(),
      () => opts.intervalMs,
      (err) => opts.logger.warn({ err, what }, "prune failed; next run at the next interval"),
    );
  }

  /** Deletes at most `limit` rows older than `before`; how many went. */
  protected abstract pruneBatch(before: Date, limit: number): Promise<number>;

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One run: deletes in batches until a batch comes back short; returns how many rows went. */
  async pruneOnce(): Promise<number> {
    const batch = this.opts.batchSize ?? 5_000;
    const before = new Date((this.opts.now ?? Date.now)() - this.opts.retentionMs);
    let total = 0;
    for (let i = 0; i < (this.opts.maxBatches ?? 100) && !this.loop.isStopped; i++) {
      const n = await this.pruneBatch(before, batch);
      total += n;
      if (n < batch) break;
    }
    if (total > 0) this.opts.logger.info({ deleted: total, before: before.toISOString(), what: this.what }, "rows past retention deleted");
    return total;
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
