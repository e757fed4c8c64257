import type { Logger } from "@pragma/logger";
import { overdueAfterMs, restartObservation, type DriftDeps } from "../domain/resources/drift";
import type { OverdueObservations } from "../domain/resources/ports";
import type { ObserveScheduler } from "./observe-scheduler";
import { Periodic } from "../periodic";

/** The pause between two sweeps while the last one found a full batch. */
const BACKLOG_PAUSE_MS = 1_000;

export interface ObserveSweeperOptions {
  overdue: OverdueObservations;
  repo: DriftDeps["repo"];
  clock: DriftDeps["clock"];
  overdueGraceMs: number;
  scheduler: Pick<ObserveScheduler, "schedule">;
  logger: Logger;
  /** The default observe interval (OBSERVE_INTERVAL_MS): what a restarted cycle waits, and what "overdue" is measured by for a never-observed resource. */
  intervalMs: number;
  /** How often each replica sweeps (OBSERVE_SWEEP_INTERVAL_MS, jittered by ±20 %); a second after a sweep that filled its batch. */
  everyMs: number;
  /** At most this many restarts per sweep (OBSERVE_SWEEP_BATCH), one short transaction each. */
  batch: number;
  random?: () => number;
}

/**
 * Keeps every ready resource's observation cycle alive. The cycle is the broker's (a message
 * in a delay queue at any time), so a message lost (a publish that failed after commit, a
 * result redelivered after its cycle moved on, a purged queue) would end it silently, and a
 * resource ready before observation was turned on would never start one. Every store
 * replica sweeps on its own timer: resources whose cycle is overdue (migration
 * 20261205160000_observation_chain: three intervals and a grace after the last result) or
 * that have never been observed get a restarted cycle, a bounded batch per sweep so a
 * backlog of 100,000 is spread over minutes, not poured on the databases at once. Two
 * replicas sweeping together restart each cycle once: the restart's upsert is the check.
 */
export class ObserveSweeper {
  private readonly loop: Periodic;
  private backlog = false;

  constructor(private readonly opts: ObserveSweeperOptions) {
    const random = opts.random ?? Math.random;
    // A sweep that filled its batch is followed by the next one after a second (a backlog,
    // e.g. every resource ready before drift shipped, drains batch by batch); otherwise one
    // full pass over the ready resources every `everyMs`.
    this.loop = new Periodic(
      () => this.sweepOnce(),
      () => (this.backlog ? BACKLOG_PAUSE_MS : Math.round(opts.everyMs * (0.8 + 0.4 * random()))),
      (err) => opts.logger.warn({ err }, "observation sweep failed; next one at the next interval"),
    );
  }

  start(): void {
    this.loop.start();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /** One sweep; how many cycles it restarted. */
  async sweepOnce(): Promise<number> {
    const now = this.opts.clock.now();
    const unobservedBefore = new Date(now.getTime() - overdueAfterMs(this.opts.intervalMs, this.opts.overdueGraceMs));
    const due = await this.opts.overdue.overdue(now, unobservedBefore, this.opts.batch);
    this.backlog = due.length === this.opts.batch;
    let restarted = 0;
    for (const { scope, resourceId } of due) {
      if (this.loop.isStopped) break;
      const r = await restartObservation(this.opts, scope, resourceId, this.opts.intervalMs);
      if (!r) continue;
      restarted++;
      await this.opts.scheduler.schedule(r.resource, this.opts.intervalMs, r.tick);
    }
    if (restarted > 0) this.opts.logger.info({ restarted, found: due.length }, "observation cycles restarted");
    return restarted;
  }
}
