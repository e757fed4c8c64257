import { Gauge, type Registry } from "prom-client";

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

/**
 * A gauge whose values cost a query (queue depths, outbox backlog): read when scraped,
 * but at most once per `minIntervalMs`, so several Prometheus servers or a dashboard
 * refreshing in a loop cannot turn into a query storm. A failed sample keeps no stale
 * values: the series disappear until the next one succeeds, and `onError` says why.
 * Several gauges may share one sampler (one query, several numbers).
 */
export function sampler<T>(read: () => Promise<T>, minIntervalMs: number): () => Promise<T | undefined> {
  let at = -Infinity;
  let last: T | undefined;
  let inFlight: Promise<T | undefined> | undefined;
  return () => {
    if (performance.now() - at < minIntervalMs) return Promise.resolve(last);
    inFlight ??= read()
      .then(
        (v) => (last = v),
        () => (last = undefined),
      )
      .finally(() => {
        at = performance.now();
        inFlight = undefined;
      });
    return inFlight;
  };
}

export function sampledGauge<T>(
  registry: Registry,
  spec: { name: string; help: string; labelNames?: string[] },
  sample: () => Promise<T | undefined>,
  pick: (value: T) => Sample[],
): Gauge {
  return new Gauge({
    name: spec.name,
    help: spec.help,
    labelNames: spec.labelNames ?? [],
    registers: [registry],
    async collect() {
      this.reset();
      const v = await sample();
      if (v === undefined) return;
      for (const s of pick(v)) this.set(s.labels, s.value);
    },
  });
}
