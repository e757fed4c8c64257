/**
 * Hooks in flight in this process, so a suspect runs alone. A suspect is an event one of
 * whose runs crashed (its worker was killed mid-hook): it may be a poison event that kills
 * its worker again, and every hook running beside it would crash with it and have a crashed
 * run counted against its own crash-loop bound, so a poison event would get healthy
 * neighbours dead-lettered. Hence: a suspect starts only when nothing else runs here, and
 * nothing starts while a suspect runs. Whoever may not start waits in a delay tier
 * (decide.ts), not here, so waiting holds no delivery.
 */
export type Neighbours = "none" | "others" | "suspect";

export class CrashIsolation {
  private running = 0;
  private suspects = 0;

  /** What runs here now. */
  neighbours(): Neighbours {
    return this.suspects > 0 ? "suspect" : this.running > 0 ? "others" : "none";
  }

  /** Counts a hook as started; call end() once it has really stopped. Synchronous with neighbours(), so no other start comes between. */
  start(suspect: boolean): { end(): void } {
    this.running++;
    if (suspect) this.suspects++;
    let ended = false;
    return {
      end: () => {
        if (ended) return;
        ended = true;
        this.running--;
        if (suspect) this.suspects--;
      },
    };
  }
}
