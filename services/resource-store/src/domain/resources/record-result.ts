import type { TenantScope } from "@pragma/contracts";
import type { Clock, ResourceRepository, Sealer, StoreTx } from "./ports";
import { Lifecycle } from "./lifecycle";
import { canonical } from "./apply-resource";
import type { ResourceRecord } from "./model";

export type WorkerResult =
  | { kind: "started"; eventId: string; resourceId: string; scope: TenantScope }
  | { kind: "succeeded"; eventId: string; resourceId: string; scope: TenantScope; eventType: string; outputs: Record<string, unknown> }
  | { kind: "failed"; eventId: string; resourceId: string; scope: TenantScope; error: string };

export type ResultOutcome = "applied" | "stale";

export interface ResultDeps {
  repo: ResourceRepository;
  clock: Clock;
  sealer: Sealer;
  /** After commit, when the result released or queued events. */
  onEventWritten?: () => void;
  /** After commit: resources that became ready with a fresh observation id (drift.ts), to schedule their first observation. */
  onObservable?: (resources: ResourceRecord[]) => void;
}

/**
 * Moves resources along processing → ready | failed, several results at once as they
 * arrive under load: one transaction per tenant scope instead of one per result. A result
 * whose event is not the resource's pending_event_id (a duplicate, or a late result for
 * superseded work) changes nothing, so redelivered results are harmless; a `started`
 * whose event also finished in the same batch is skipped (the resource goes straight to
 * its final state; nothing could have seen the intermediate one commit). What a result
 * unblocks (held dependents, owners waiting to be deleted, re-runs for changed outputs)
 * is written in the same transaction. Within a scope, results are applied in resource-id
 * order (arrival order for one resource). If a scope's transaction fails, each of its
 * results is retried alone, so one bad result fails only itself.
 */
export async function recordResults(deps: ResultDeps, results: WorkerResult[]): Promise<PromiseSettledResult<ResultOutcome>[]> {
  const out: PromiseSettledResult<ResultOutcome>[] = new Array(results.length);
  const finished = new Set(results.filter((r) => r.kind !== "started").map((r) => r.eventId));
  const groups = new Map<string, number[]>();
  results.forEach((r, i) => {
    if (r.kind === "started" && finished.has(r.eventId)) {
      out[i] = { status: "fulfilled", value: "stale" };
      return;
    }
    const key = `${r.scope.org_id}\u0000${r.scope.project_id}\u0000${r.scope.space_id}`;
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  // Rows are locked in id order (a stable sort keeps one resource's results in arrival
  // order), as every other multi-row lock in the store is.
  for (const indexes of groups.values()) indexes.sort((x, y) => cmp(results[x]!.resourceId, results[y]!.resourceId) || x - y);
  let released = false;
  // Resources that became ready in a committed transaction (a failed one's are dropped with it).
  let toObserve: ResourceRecord[] = [];
  const observable: ResourceRecord[] = [];
  const apply = async (tx: StoreTx, i: number): Promise<ResultOutcome> => {
    const lc = new Lifecycle(tx, deps.clock.now(), null, deps.sealer);
    const outcome = await applyResult(tx, lc, results[i]!, deps.sealer, deps.onObservable ? toObserve : undefined);
    released ||= lc.released;
    return outcome;
  };
  for (const indexes of groups.values()) {
    const scope = results[indexes[0]!]!.scope;
    try {
      const outcomes = await deps.repo.inScope(scope, async (tx) => {
        // Every row of the batch (and the dependents of those that may become ready) in one round trip.
        await tx.lockForResults(
          indexes.map((i) => results[i]!.resourceId),
          indexes.filter((i) => results[i]!.kind === "succeeded").map((i) => results[i]!.resourceId),
        );
        const list: ResultOutcome[] = [];
        for (const i of indexes) list.push(await apply(tx, i));
        return list;
      });
      indexes.forEach((i, k) => (out[i] = { status: "fulfilled", value: outcomes[k]! }));
      observable.push(...toObserve);
      toObserve = [];
    } catch (err) {
      toObserve = [];
      if (indexes.length === 1) {
        out[indexes[0]!] = { status: "rejected", reason: err };
        continue;
      }
      for (const i of indexes) {
        try {
          out[i] = { status: "fulfilled", value: await deps.repo.inScope(scope, (tx) => apply(tx, i)) };
          observable.push(...toObserve);
          toObserve = [];
        } catch (e) {
          toObserve = [];
          out[i] = { status: "rejected", reason: e };
        }
      }
    }
  }
  if (released) deps.onEventWritten?.();
  if (observable.length > 0) deps.onObservable?.(observable);
  return out;
}

async function applyResult(tx: StoreTx, lc: Lifecycle, result: WorkerResult, sealer: Sealer, observe?: ResourceRecord[]): Promise<ResultOutcome> {
  const found = await tx.lockResourceWithPendingConfig(result.resourceId);
  const r = found?.resource;
  if (!r || r.pendingEventId !== result.eventId) return "stale";

  switch (result.kind) {
    case "started":
      return (await lc.start(r, result.eventId)) ? "applied" : "stale";
    case "succeeded": {
      if (r.lifecycleState !== "pending" && r.lifecycleState !== "processing") return "stale";
      if (result.eventType === "DELETE") {
        await lc.remove(r);
        return "applied";
      }
      // The worker seals the outputs it knows are sensitive; a secret-named one it missed
      // is sealed here. Sealed values differ on every sealing: compare what they hold.
      const outputs = sealer.sealSensitive(result.outputs);
      const outputsChanged = JSON.stringify(canonical(sealer.openDeep(r.outputs).value)) !== JSON.stringify(canonical(sealer.openDeep(outputs).value));
      await lc.succeed(
        r,
        {
          eventId: result.eventId,
          outputs: outputsChanged ? outputs : r.outputs,
          outputsChanged,
          // What the provider actually ran with (references resolved): the next UPDATE's previous_config.
          appliedConfig: found.pendingConfig ?? r.config,
          eventType: result.eventType === "CREATE" ? "CREATE" : "UPDATE",
        },
        // Drift: the ready resource starts a fresh observation cycle (scheduled after commit).
        observe,
      );
      return "applied";
    }
    case "failed":
      return (await lc.failEvent(r, result.eventId, result.error)) ? "applied" : "stale";
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
