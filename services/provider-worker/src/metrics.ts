import type { ResourceWork } from "@pragma/contracts";
import type { Provider } from "@pragma/provider-sdk";
import { Gauge, HOOK_BUCKETS, Histogram, memo3, type Registry } from "@pragma/metrics";
import type { EventOutcome } from "./domain/process-event";
import type { PoolStats } from "./data/databases";

export interface WorkerMetrics {
  /**
   * Runs one event from `provider`'s work queue and records how long it took and how it
   * ended ("requeued" when it threw). The provider label is the queue's, not the message's.
   */
  time(provider: string, work: ResourceWork, run: () => Promise<EventOutcome>): Promise<EventOutcome>;
}

export function workerMetrics(registry: Registry, providers: ReadonlyMap<string, Provider>, pools: () => PoolStats[]): WorkerMetrics {
  const events = new Histogram({
    name: "pragma_worker_event_duration_seconds",
    help: "Work events handled, from delivery to ack, by provider, resource type and outcome (succeeded, failed, retried, busy, replayed, requeued)",
    labelNames: ["provider", "type", "outcome"],
    buckets: HOOK_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: "pragma_worker_db_pools",
    help: "Connection pools this worker holds to projects' registered databases, by database type",
    labelNames: ["db_type"],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of pools()) this.inc({ db_type: s.dbType });
    },
  });
  new Gauge({
    name: "pragma_worker_db_pool_connections",
    help: "Connections of those pools summed by database type and state (total, idle, waiting = callers queued for one)",
    labelNames: ["db_type", "state"],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of pools()) {
        this.inc({ db_type: s.dbType, state: "total" }, s.total);
        this.inc({ db_type: s.dbType, state: "idle" }, s.idle);
        this.inc({ db_type: s.dbType, state: "waiting" }, s.waiting);
      }
    },
  });
  const child = memo3((provider, type, outcome) => events.labels(provider, type, outcome));
  return {
    async time(provider, work, run) {
      // The label is the type only if this worker knows it: message contents cannot add series.
      const type = work.provider === provider && providers.get(provider)?.types.has(work.resource_type) ? work.resource_type : "unknown";
      const started = performance.now();
      try {
        const outcome = await run();
        child(provider, type, outcome).observe((performance.now() - started) / 1000);
        return outcome;
      } catch (err) {
        child(provider, type, "requeued").observe((performance.now() - started) / 1000);
        throw err;
      }
    },
  };
}
