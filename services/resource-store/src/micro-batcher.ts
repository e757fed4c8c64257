/**
 * Natural batching: items added while a batch is running wait and go together in the
 * next one (at most `maxBatch`), so batches grow with load and a lone item waits only
 * for the current tick. One batch runs at a time.
 */
export class MicroBatcher<T, R> {
  private queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  /** `lingerMs`: how long a batch that is not full waits for more before it runs (0: this tick only). */
  constructor(
    private readonly run: (items: T[]) => Promise<PromiseSettledResult<R>[]>,
    private readonly maxBatch: number,
    private readonly lingerMs = 0,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) {
        this.running = true;
        if (this.lingerMs > 0) setTimeout(() => void this.drain(), this.lingerMs);
        else setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      try {
        const settled = await this.run(batch.map((b) => b.item));
        batch.forEach((b, i) => {
          const s = settled[i];
          if (s?.status === "fulfilled") b.resolve(s.value);
          else b.reject(s ? s.reason : new Error("batch returned no outcome for this item"));
        });
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.running = false;
  }
}
