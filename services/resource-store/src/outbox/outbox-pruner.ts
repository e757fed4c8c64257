import { idsBefore } from "@pragma/ids";
import type { Logger } from "@pragma/logger";
import type { OutboxRepository } from "../data/outbox.repository";

export interface PrunerDeps {
  outbox: Pick<OutboxRepository, "prunePublished">;
  logger: Logger;
  retentionMs: number;
  intervalMs: number;
  /** Rows per DELETE (one short transaction each), and at most this many rounds per run. */
  batchSize?: number;
  maxBatches?: number;
  now?: () => number;
}

/**
 * Deletes published outbox events past their retention, every intervalMs. Without it the
 * table keeps every event ever relayed, and each one is written once more per change.
 * Held and pending events are never touched, nor are cancelled ones (few; the relay's
 * role does not see them).
 */
export class OutboxPruner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly deps: PrunerDeps) {}

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
    const batch = this.deps.batchSize ?? 5_000;
    const before = idsBefore("event", new Date((this.deps.now ?? Date.now)() - this.deps.retentionMs));
    let total = 0;
    for (let i = 0; i < (this.deps.maxBatches ?? 100) && !this.stopped; i++) {
      const n = await this.deps.outbox.prunePublished(before, batch);
      total += n;
      if (n < batch) break;
    }
    if (total > 0) this.deps.logger.info({ deleted: total, before }, "outbox: published events past retention deleted");
    return total;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pruneOnce()
        .catch((err: unknown) => this.deps.logger.warn({ err }, "outbox prune failed; next run at the next interval"))
        .finally(() => {
          this.running = undefined;
          this.schedule();
        });
    }, this.deps.intervalMs);
    this.timer.unref();
  }
}
