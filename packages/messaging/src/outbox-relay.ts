import type { Logger } from "@pragma/logger";

/** One claimed batch of outbox rows, held (locked) by the source until `withBatch`'s callback returns. */
export interface OutboxBatch<E> {
  events: E[];
  /** Marks are written with the batch's commit, after the callback returns. */
  markPublished(eventIds: string[]): Promise<void>;
  markFailed(eventIds: string[], error: string): Promise<void>;
}

/**
 * A service's outbox table. `withBatch` claims up to `limit` unpublished rows so that no
 * other relay (another replica of the service) claims them meanwhile, in practice
 * `SELECT … FOR UPDATE SKIP LOCKED` inside one transaction, runs `fn`, then commits the marks.
 */
export interface OutboxSource<E extends { event_id: string }> {
  withBatch<T>(limit: number, fn: (batch: OutboxBatch<E>) => Promise<T>): Promise<T>;
}

export interface RelayDeps<E extends { event_id: string }> {
  outbox: OutboxSource<E>;
  /** Resolves when the broker confirmed the event. */
  publish(event: E): Promise<void>;
  logger: Logger;
  pollMs: number;
  batchSize: number;
  /** Upper bound for one publish; a broker that never confirms must not wedge the relay. */
  publishTimeoutMs?: number;
  /** After each batch: how many were published and how many failed (metrics). */
  onBatch?(published: number, failed: number): void;
}

/**
 * Publishes committed outbox events with confirms and marks them published. Woken
 * by kick() after a local commit and by a poll for everything else (other
 * replicas' events, events left behind while the broker was down). Shared by every
 * service with an outbox (the resource store's work events, the registry's events);
 * each brings its own table (OutboxSource) and its own publish.
 */
export class OutboxRelay<E extends { event_id: string }> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private failures = 0;

  constructor(private readonly deps: RelayDeps<E>) {}

  start(): void {
    this.schedule(0);
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.run(), ms);
  }

  private async run(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = this.drain();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
    // Back off while publishing fails (broker down); otherwise poll normally.
    const delay = this.again ? 0 : this.failures > 0 ? Math.min(this.deps.pollMs * 2 ** this.failures, 10_000) : this.deps.pollMs;
    this.again = false;
    this.schedule(delay);
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        const { claimed, failed } = await this.deps.outbox.withBatch(this.deps.batchSize, (batch) => this.publishBatch(batch));
        // Counted once the marks committed.
        if (claimed > 0) this.deps.onBatch?.(claimed - failed, failed);
        this.failures = failed > 0 ? Math.min(this.failures + 1, 6) : 0;
        if (failed > 0 || claimed < this.deps.batchSize || this.stopped) return;
      }
    } catch (err) {
      this.failures = Math.min(this.failures + 1, 6);
      this.deps.logger.error({ err }, "outbox relay batch failed");
    }
  }

  private async publishBatch(batch: OutboxBatch<E>) {
    const timeout = this.deps.publishTimeoutMs ?? 10_000;
    const results = await Promise.allSettled(batch.events.map((e) => withTimeout(this.deps.publish(e), timeout)));
    const ok: string[] = [];
    const bad: string[] = [];
    let lastError = "";
    results.forEach((r, i) => {
      const id = batch.events[i]!.event_id;
      if (r.status === "fulfilled") ok.push(id);
      else {
        bad.push(id);
        lastError = r.reason instanceof Error ? r.reason.message : String(r.reason);
      }
    });
    await batch.markPublished(ok);
    await batch.markFailed(bad, lastError);
    if (bad.length > 0) this.deps.logger.warn({ failed: bad.length, published: ok.length, error: lastError }, "outbox events not published, will retry");
    return { claimed: batch.events.length, failed: bad.length };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`publish not confirmed within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
