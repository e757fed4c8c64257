/**
 * Natural batching: items added while a batch is running wait and go together in the
 * next one (at most `maxBatch`), so batches grow with load and a lone item waits only
 * for the current tick. One batch runs at a time.
 */
export class MicroBatcher<T, R> {
  private queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  constructor(
    private readonly run: (items: T[]) => Promise<PromiseSettledResult<R>[]>,
    private readonly maxBatch: number,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
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
