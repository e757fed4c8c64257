import { Counter, memo2, sampledGauge, sampler, type Registry } from "@pragma/metrics";
import type { OutboxBacklog } from "./data/outbox.repository";

export interface StoreMetrics {
  /** A committed lifecycle change of one resource; `from` is "none" for a new row, `to` "deleted" for a removed one. */
  transition(from: string, to: string): void;
  /** A worker result recorded: kind started/succeeded/failed, outcome applied or stale (not the pending event: inert). */
  resultRecorded(kind: string, outcome: string): void;
  /** A dead letter drained from the broker: stored, duplicate, unattributable, or result_dropped. */
  deadLetter(outcome: string): void;
  outboxPublished(published: number, failed: number): void;
}

export function storeMetrics(registry: Registry, outbox: { backlog(): Promise<OutboxBacklog> }, sampleMs = 5_000): StoreMetrics {
  const transitions = new Counter({
    name: "pragma_lifecycle_transitions_total",
    help: "Committed lifecycle state changes of resources, by from and to state (none: created; deleted: row removed)",
    labelNames: ["from", "to"],
    registers: [registry],
  });
  const results = new Counter({
    name: "pragma_results_ingested_total",
    help: "Worker results recorded by the store, by kind and outcome (stale: not for the resource's pending event, changed nothing)",
    labelNames: ["kind", "outcome"],
    registers: [registry],
  });
  const deadLetters = new Counter({
    name: "pragma_dead_letters_ingested_total",
    help: "Dead letters drained from pragma.dead-letter into the store, by outcome",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const published = new Counter({
    name: "pragma_outbox_published_total",
    help: "Outbox events the relay published with a broker confirm",
    registers: [registry],
  });
  const failed = new Counter({
    name: "pragma_outbox_publish_failures_total",
    help: "Outbox event publishes that failed (retried by the relay)",
    registers: [registry],
  });
  const backlog = sampler(() => outbox.backlog(), sampleMs);
  sampledGauge(registry, { name: "pragma_outbox_backlog", help: "Outbox events committed and not yet published (sampled)" }, backlog, (b) => [{ labels: {}, value: b.pending }]);
  sampledGauge(registry, { name: "pragma_outbox_lag_seconds", help: "Age of the oldest unpublished outbox event, 0 when none (sampled)" }, backlog, (b) => [
    { labels: {}, value: b.oldestAgeSeconds },
  ]);
  const transitionOf = memo2((from, to) => transitions.labels(from, to));
  const resultOf = memo2((kind, outcome) => results.labels(kind, outcome));
  return {
    transition: (from, to) => transitionOf(from, to).inc(),
    resultRecorded: (kind, outcome) => resultOf(kind, outcome).inc(),
    deadLetter: (outcome) => deadLetters.labels(outcome).inc(),
    outboxPublished(ok, bad) {
      if (ok > 0) published.inc(ok);
      if (bad > 0) failed.inc(bad);
    },
  };
}
