/**
 * Natural batching: items added while `maxInFlight` batches are running wait and go
 * together in the next one (at most `maxBatch`), so batches grow with load and a lone item
 * waits only for the current tick. With maxInFlight 1 (the default) one batch runs at a
 * time.
 */
export class MicroBatcher<T, R> {
  private queue: { item: T; resolve: (r: R) => void; reject: (e: unknown) => void }[] = [];
  private active = 0;
  private scheduled = false;

  /** `lingerMs`: how long a batch that is not full waits for more before it runs (0: this tick only). */
  constructor(
    private readonly run: (items: T[]) => Promise<PromiseSettledResult<R>[]>,
    private readonly maxBatch: number,
    private readonly lingerMs = 0,
    private readonly maxInFlight = 1,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.kick();
    });
  }

  /** Starts a runner at the end of this tick (or after the linger) if one may run and none is about to. */
  private kick(): void {
    if (this.scheduled || this.active >= this.maxInFlight || this.queue.length === 0) return;
    this.scheduled = true;
    this.active += 1;
    const start = () => {
      this.scheduled = false;
      void this.drain();
    };
    if (this.lingerMs > 0) setTimeout(start, this.lingerMs);
    else setImmediate(start);
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
    this.active -= 1;
    this.kick();
  }
}
