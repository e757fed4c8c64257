/**
 * A task run again a while after each run ends (never two at once), on a timer that does
 * not keep the process alive; stop() waits for a run in progress. The store's background
 * loops (outbox/outbox-pruner.ts, observe/observe-sweeper.ts) run on it.
 */
export class Periodic {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  /** `delayMs` is asked before every wait (so it may jitter); a run's failure goes to `onError` and the loop goes on. */
  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly delayMs: () => number,
    private readonly onError: (err: unknown) => void,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(): void {
    this.next();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private next(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.run()
        .catch(this.onError)
        .finally(() => {
          this.running = undefined;
          this.next();
        });
    }, this.delayMs());
    this.timer.unref();
  }
}
