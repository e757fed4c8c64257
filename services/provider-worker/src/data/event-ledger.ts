import type { EventLedger, ResourceLog } from "../domain/ports";
import type { DedupeRepository } from "./dedupe.repository";
import type { EventFinisher } from "./event-finisher";
import { scopedKey } from "./redis-keys";
import type { ResourceLocks } from "./resource-lock";
import type { ResourceLogRepository } from "./resource-log.repository";

/**
 * The domain's EventLedger on the worker's Redis records: the lease and run count
 * (ResourceLocks), the stored outcome (DedupeRepository) and the one-command end of a
 * successful event (EventFinisher), all keyed by the event and its tenant-scoped resource.
 */
export function redisEventLedger(locks: ResourceLocks, dedupe: DedupeRepository, finisher: EventFinisher): EventLedger {
  return {
    async enter(work, firstRunAt) {
      const resource = scopedKey(work);
      const entry = await locks.enter(resource, work.event_id, { done: dedupe.keyOf(work.event_id), runs: dedupe.runsKeyOf(work.event_id) }, firstRunAt);
      if ("done" in entry) return { done: dedupe.decode(entry.done) };
      if ("busy" in entry) return entry;
      const lease = entry.lease;
      return {
        runs: entry.runs,
        recorded: entry.recorded,
        lease: {
          get held() {
            return lease.held;
          },
          release: () => lease.release(),
          complete: (outcome, lines) => finisher.finish(work.event_id, outcome, resource, lines, lease),
        },
      };
    },
    recordFailure: (eventId, outcome) => dedupe.put(eventId, outcome),
    recordRun: (eventId, startedAt) => dedupe.recordRun(eventId, startedAt),
    unrecordRun: (eventId, startedAt) => dedupe.unrecordRun(eventId, startedAt),
  };
}

/** The domain's ResourceLog: lines under the event's tenant-scoped resource. */
export function workResourceLog(log: ResourceLogRepository): ResourceLog {
  return { append: (work, ...lines) => log.append(scopedKey(work), ...lines) };
}
