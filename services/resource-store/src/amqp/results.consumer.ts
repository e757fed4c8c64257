import { QUEUES, RESULT_MESSAGE_CONTRACTS, resultsOf, type MessageContract } from "@pragma/contracts";
import { holdOnDatabaseOutage } from "@pragma/db";
import type { Broker, ConsumerHandle } from "@pragma/messaging";
import { runWithContext, type Logger } from "@pragma/logger";
import { recordResults, type ResultOutcome, type WorkerResult } from "../domain/resources/record-result";
import { MicroBatcher } from "../micro-batcher";
import type { Clock, ResourceRepository, Sealer } from "../domain/resources/ports";
import type { ResourceRecord } from "../domain/resources/model";

// Two lanes: a batch costs two round trips whatever its size (see lockForResults), so
// fewer, fuller batches; four lanes cost ~15% more PostgreSQL CPU per resource at saturation
// for no latency gain (p99 at 200 applies/s 50-56 ms either way).
const RESULT_LANES = 2;

export async function consumeResults(
  broker: Broker,
  deps: {
    repo: ResourceRepository;
    clock: Clock;
    sealer: Sealer;
    logger: Logger;
    onEventWritten?: () => void;
    onApplied?: (r: WorkerResult) => void;
    /** Resources that became ready, to schedule their first observation (drift). */
    onObservable?: (resources: ResourceRecord[]) => void;
    /** Every result recorded, applied or stale (metrics). */
    onRecorded?: (kind: WorkerResult["kind"], outcome: ResultOutcome) => void;
  },
  prefetch: number,
  lingerMs = 5,
): Promise<ConsumerHandle> {
  // Deliveries in flight (up to the prefetch) are recorded together: one transaction per
  // tenant per batch. Each delivery is still acked only after its own result committed.
  // Batches run in RESULT_LANES lanes at once; a resource always goes to the same lane,
  // so its results stay in arrival order and two lanes never wait on each other's rows
  // (except through dependents, which a failed batch's one-by-one fallback absorbs).
  // A lane that was idle waits lingerMs (RESULTS_LINGER_MS) before it runs: batches grow
  // at moderate load, and a started report that meets its succeeded in one batch costs
  // nothing (the worker only reports started for a hook still running after its
  // STARTED_REPORT_DELAY_MS, so that is now rare). Measured against 0 on the lifecycle
  // bench (two pairs, same hour): no difference beyond the machine's noise either way.
  const lanes = Array.from(
    { length: RESULT_LANES },
    () => new MicroBatcher<WorkerResult, ResultOutcome>((items) => recordResults(deps, items), Math.max(1, Math.ceil(prefetch / RESULT_LANES)), lingerMs),
  );
  const laneOf = (resourceId: string) => {
    let h = 0;
    for (let i = 0; i < resourceId.length; i++) h = (h * 31 + resourceId.charCodeAt(i)) | 0;
    return lanes[Math.abs(h) % lanes.length]!;
  };
  // A delivery is one result, or several a worker finished together
  // (provider.event.reported.v1): each goes to its lane, and the delivery is acked once
  // all of them are recorded. If one fails, the others are still waited for, then the
  // delivery is requeued whole (recording is idempotent: a result whose event is no
  // longer pending is inert).
  return broker.consume<unknown>(
    QUEUES.results,
    RESULT_MESSAGE_CONTRACTS as unknown as MessageContract<unknown>[],
    async (delivery) => {
      const entries = resultsOf(delivery.type, delivery.payload, delivery);
      const settled = await Promise.allSettled(
        entries.map(async (e) => {
          const p = e.payload;
          const scope = { org_id: p.org_id, project_id: p.project_id, space_id: p.space_id };
          const base = { eventId: p.event_id, resourceId: p.resource_id, scope };
          const result: WorkerResult =
            e.kind === "started"
              ? { kind: "started", ...base }
              : e.kind === "succeeded"
                ? { kind: "succeeded", ...base, eventType: e.payload.event_type, outputs: e.payload.outputs }
                : { kind: "failed", ...base, error: e.payload.error };
          const outcome = await laneOf(result.resourceId).add(result);
          deps.onRecorded?.(result.kind, outcome);
          if (deps.logger.isLevelEnabled("debug")) {
            // Under the result's own request id (a batch's message carries none of its own).
            const log = () => deps.logger.debug({ eventId: p.event_id, resourceId: p.resource_id, kind: result.kind, outcome }, "worker result recorded");
            if (e.correlationId) runWithContext({ requestId: e.correlationId }, log);
            else log();
          }
          if (outcome === "applied") deps.onApplied?.(result);
        }),
      );
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
      // Requeued whole; during a database outage after a pause (holdOnDatabaseOutage).
      if (failed) await holdOnDatabaseOutage(() => Promise.reject(failed.reason));
    },
    { prefetch },
  );
}
