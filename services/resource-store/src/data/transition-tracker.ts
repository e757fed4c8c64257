
/** Told each committed lifecycle change: from "none" (created) and to "deleted" (row removed). */
export type TransitionObserver = (from: string, to: string) => void;

/**
 * What one transaction did to lifecycle states, for the transitions metric: the state of
 * each row when the transaction first read it, and the last one it wrote. Reported only
 * after COMMIT, and only the net change (pending → processing → ready in one batch of
 * results is one pending → ready, as every reader saw it).
 */
export class TransitionTracker {
  private readonly before = new Map<string, string>();
  private readonly after = new Map<string, string>();

  saw(records: readonly { resourceId: string; lifecycleState: string }[]): void {
    for (const r of records) if (!this.before.has(r.resourceId)) this.before.set(r.resourceId, r.lifecycleState);
  }

  wrote(resourceId: string, state: string): void {
    this.after.set(resourceId, state);
  }

  report(observe: TransitionObserver): void {
    for (const [id, to] of this.after) {
      const from = this.before.get(id) ?? "none";
      if (from !== to) observe(from, to);
    }
  }
}
