import { newId } from "@pragma/ids";
import { resourceId as idOf, type EventType, type ResourceWork } from "@pragma/contracts";
import { workTarget, type OutboxEventRecord, type ResourceRecord } from "./model";
import type { StoreTx } from "./ports";
import { readPath, resolveConfig, type FieldReference, type Sealing } from "./references";
import { deadLetteredEntry, historyText } from "./history";
import type { HistoryKind } from "@pragma/contracts";

/**
 * The state machine's side effects inside one transaction: writing events (held or
 * released), releasing held events when what they wait for happens, and propagating
 * output changes. Everything here runs in the caller's transaction, so a state change
 * and the events it causes commit together or not at all.
 */
export class Lifecycle {
  /** Set when an event became publishable; the caller kicks the relay after commit. */
  released = false;

  constructor(
    readonly tx: StoreTx,
    readonly now: Date,
    private readonly correlationId: string | null,
    /** Sensitive values stay sealed through resolution (references.ts): required, so no path resolves without it. */
    private readonly sealing: Sealing,
  ) {}

  /**
   * Moves `r` to pending with a new event (held when it has to wait), and answers that
   * event (cancelled, with `r` failed, when a reference cannot be resolved). The caller
   * persists `r`.
   */
  async queue(r: ResourceRecord, eventType: EventType): Promise<OutboxEventRecord> {
    const eventId = newId("event");
    r.lifecycleState = "pending";
    r.pendingEventId = eventId;
    r.error = null;
    r.updatedAt = this.now;
    const blocked = await this.blocked(r, eventType);
    const built = blocked ? null : await this.build(r, eventId, eventType);
    const event: OutboxEventRecord = {
      eventId,
      scope: r.scope,
      resourceId: r.resourceId,
      eventType,
      provider: r.provider,
      resourceType: r.resourceType,
      resourceName: r.name,
      // A held event's payload is rebuilt at release, with the outputs current then.
      payload: built?.ok ? (built.work as unknown as Record<string, unknown>) : {},
      previousConfig: r.provisioned ? r.appliedConfig : null,
      correlationId: this.correlationId,
      status: blocked ? "held" : "pending",
      createdAt: this.now,
      publishedAt: null,
    };
    if (built && !built.ok) {
      // Only reachable on propagation (apply validated its references first).
      event.status = "cancelled";
      this.failReference(r, built.ref);
    }
    await this.tx.insertEvent(event);
    if (event.status === "pending") this.released = true;
    if (event.status === "cancelled") await this.record(r, "failed", eventId, historyText(r.error ?? "failed"));
    else await this.record(r, "queued", eventId, event.status === "held" ? `${eventType} queued, held: ${eventType === "DELETE" ? "waiting for what it owns to be gone" : "waiting for its dependencies to be ready"}` : `${eventType} queued`);
    return event;
  }

  /**
   * The resource's history (history.ts): every lifecycle step is recorded here, in the
   * transaction that takes it. `summary` must hold no config or output value.
   */
  async record(r: Pick<ResourceRecord, "resourceId">, kind: HistoryKind, eventId: string | null, summary: string, at: Date = this.now): Promise<void> {
    await this.tx.insertHistory([{ resourceId: r.resourceId, kind, eventId, requestId: this.correlationId, summary, at }]);
  }

  /**
   * A dead letter stored for an event, in its resource's history (once per event: the
   * history insert skips a step already recorded for it, so a redelivery adds nothing).
   */
  async recordDeadLetter(entry: Parameters<typeof deadLetteredEntry>[0]): Promise<void> {
    await this.tx.insertHistory([deadLetteredEntry(entry)]);
  }

  /**
   * Parks `r` as a draft (an apply asked for draft, or changed the config without asking
   * for pending). It stays `provisioned`, so its next pending apply is an UPDATE. The
   * caller persists `r`.
   */
  park(r: ResourceRecord): void {
    r.lifecycleState = "draft";
  }

  /**
   * Deletes `r`: a resource that was never provisioned (a draft, or one whose CREATE
   * failed) has nothing to tear down, so its row goes at once and no provider is asked
   * (null); otherwise it goes pending with a DELETE event, held while it owns resources.
   * The caller persists `r` when an event is answered.
   */
  async delete(r: ResourceRecord): Promise<OutboxEventRecord | null> {
    if (!r.provisioned && (await this.tx.lockOwned(r.resourceId)).length === 0) {
      await this.remove(r);
      return null;
    }
    return this.queue(r, "DELETE");
  }

  /**
   * A dependent waiting (held) for a resource that is being deleted anyway (delete with
   * force) would wait forever: it fails instead, saying why, and can be re-applied.
   */
  async abandonWaiting(dependent: ResourceRecord, error: string): Promise<boolean> {
    if (dependent.lifecycleState !== "pending" || !dependent.pendingEventId) return false;
    const ev = await this.tx.getEvent(dependent.pendingEventId);
    if (ev?.status !== "held" || ev.eventType === "DELETE") return false;
    await this.tx.updateEvent(ev.eventId, { status: "cancelled" });
    dependent.lifecycleState = "failed";
    dependent.pendingEventId = null;
    dependent.error = error;
    dependent.updatedAt = this.now;
    await this.tx.updateResource(dependent);
    await this.record(dependent, "failed", ev.eventId, historyText(error));
    return true;
  }

  /** A resource became ready: release waiting dependents and push changed outputs downstream. */
  async onReady(r: ResourceRecord, change: { outputsChanged: boolean; eventType: EventType }): Promise<void> {
    for (const d of await this.tx.lockDependents(r.resourceId)) {
      if (d.lifecycleState === "pending" && d.pendingEventId) {
        const ev = await this.tx.getEvent(d.pendingEventId);
        if (ev?.status === "held") {
          if (ev.eventType !== "DELETE" && !(await this.blocked(d, ev.eventType))) await this.release(d, ev);
          continue;
        }
      }
      if (!change.outputsChanged || change.eventType !== "UPDATE") continue;
      if (d.lifecycleState === "ready") {
        await this.queue(d, "UPDATE");
        await this.tx.updateResource(d);
      } else if (d.lifecycleState === "pending" || d.lifecycleState === "processing") {
        // Already sent with the old values: run it once more when it finishes.
        await this.tx.updateResource({ ...d, staleInputs: true, updatedAt: this.now });
      }
    }
  }

  /** A row is gone: owners whose DELETE waited for their last owned resource proceed. */
  async onRemoved(removed: ResourceRecord): Promise<void> {
    for (const ownerId of new Set(removed.ownerReferences.map(idOf))) {
      const owner = await this.tx.lockResource(ownerId);
      if (!owner || owner.lifecycleState !== "pending" || !owner.pendingEventId) continue;
      const ev = await this.tx.getEvent(owner.pendingEventId);
      if (ev?.status === "held" && ev.eventType === "DELETE" && !(await this.blocked(owner, "DELETE"))) await this.release(owner, ev);
    }
  }

  /** Removes the row now (nothing was ever provisioned) and lets waiting owners go on. */
  async remove(r: ResourceRecord): Promise<void> {
    await this.tx.deleteResource(r.resourceId);
    await this.record(r, "deleted", r.pendingEventId, r.provisioned ? "deleted by its provider" : "removed (never provisioned)");
    await this.onRemoved(r);
  }

  private async release(r: ResourceRecord, ev: OutboxEventRecord): Promise<void> {
    if (ev.eventType === "DELETE" && !r.provisioned) {
      await this.tx.updateEvent(ev.eventId, { status: "cancelled" });
      await this.remove(r);
      return;
    }
    const built = await this.build(r, ev.eventId, ev.eventType);
    if (!built.ok) {
      await this.tx.updateEvent(ev.eventId, { status: "cancelled" });
      this.failReference(r, built.ref);
      await this.tx.updateResource(r);
      await this.record(r, "failed", ev.eventId, historyText(r.error ?? "failed"));
      return;
    }
    await this.tx.updateEvent(ev.eventId, { status: "pending", payload: built.work as unknown as Record<string, unknown>, previousConfig: built.work.previous_config });
    this.released = true;
  }

  /**
   * The resource's pending CREATE or UPDATE succeeded: ready with its outputs, then what
   * that unblocks (onReady). Inputs that changed while it ran queue it once more first, so
   * dependents wait for the fresh run. The caller has checked the event is the pending one.
   */
  async succeed(
    r: ResourceRecord,
    result: { eventId: string; outputs: Record<string, unknown>; outputsChanged: boolean; appliedConfig: Record<string, unknown>; eventType: "CREATE" | "UPDATE" },
    /** Drift: given, the ready resource starts a fresh observation cycle (a new observation id) and is added here, to be scheduled after commit. */
    observing?: ResourceRecord[],
  ): Promise<void> {
    const ready: ResourceRecord = {
      ...r,
      lifecycleState: "ready",
      outputs: result.outputs,
      error: null,
      provisioned: true,
      appliedConfig: result.appliedConfig,
      pendingEventId: null,
      staleInputs: false,
      // A success re-applied what drifted (a heal, or the user's own re-apply).
      drift: null,
      updatedAt: this.now,
    };
    await this.record(r, "succeeded", result.eventId, `${result.eventType} succeeded`);
    if (r.drift) await this.record(r, "healed", result.eventId, `re-applied: ${r.drift.fields.join(", ")}`);
    if (observing) {
      ready.observationId = newId("observation");
      observing.push(ready);
    }
    // Inputs changed while this ran: go again first, so dependents wait for the fresh run.
    if (r.staleInputs) await this.queue(ready, "UPDATE");
    await this.tx.updateResource(ready);
    await this.onReady(ready, { outputsChanged: result.outputsChanged, eventType: result.eventType });
  }

  /**
   * A worker took up the resource's pending event: pending → processing. False (nothing
   * written) when the resource no longer waits on that event, or is past pending.
   */
  async start(r: ResourceRecord, eventId: string): Promise<boolean> {
    if (r.pendingEventId !== eventId || r.lifecycleState !== "pending") return false;
    await this.tx.updateResource({ ...r, lifecycleState: "processing", updatedAt: this.now });
    await this.record(r, "started", eventId, "a worker started it");
    return true;
  }

  /**
   * The resource's pending event failed for good: a worker's failed result, or the event
   * dead-lettered without any result reaching the store. Only while the resource still
   * waits on that event: a later event, a result that already arrived or a user's
   * re-apply all win over a late failure (false, nothing written). The history records
   * "failed", unless the caller records the failure itself (a dead letter: recordDeadLetter).
   */
  async failEvent(r: ResourceRecord, eventId: string, error: string, history: "failed" | "recorded" = "failed"): Promise<boolean> {
    if (r.pendingEventId !== eventId || (r.lifecycleState !== "pending" && r.lifecycleState !== "processing")) return false;
    await this.tx.updateResource({ ...r, lifecycleState: "failed", error, pendingEventId: null, staleInputs: false, updatedAt: this.now });
    if (history === "failed") await this.record(r, "failed", eventId, historyText(error));
    return true;
  }

  private failReference(r: ResourceRecord, ref: FieldReference): void {
    r.lifecycleState = "failed";
    r.pendingEventId = null;
    r.error = `Field reference resolution failed: ${ref.target.provider}/${ref.target.resource}/${ref.target.name}.outputs.${ref.field}`;
    r.updatedAt = this.now;
  }

  /** CREATE/UPDATE wait for every dependency to be ready; DELETE waits for what the resource owns to be gone. */
  private async blocked(r: ResourceRecord, eventType: EventType): Promise<boolean> {
    if (eventType === "DELETE") return (await this.tx.lockOwned(r.resourceId)).length > 0;
    const ids = [...new Set(r.dependencies.map(idOf))];
    if (ids.length === 0) return false;
    const deps = await this.tx.getResources(ids);
    return deps.length < ids.length || deps.some((d) => d.lifecycleState !== "ready");
  }

  /** The work message with references resolved against the dependencies' current outputs. */
  private async build(r: ResourceRecord, eventId: string, eventType: EventType): Promise<{ ok: true; work: ResourceWork } | { ok: false; ref: FieldReference }> {
    let config: Record<string, unknown>;
    if (eventType === "DELETE") {
      // The provider deletes what it last created, so it gets the config it last applied.
      config = r.appliedConfig ?? {};
    } else {
      const deps = new Map((await this.tx.getResources([...new Set(r.dependencies.map(idOf))])).map((d) => [d.resourceId, d]));
      const resolved = resolveConfig(r.config, (ref) => {
        const target = deps.get(idOf(ref.target));
        return target ? readPath(target.outputs, ref.field) : { found: false };
      }, this.sealing);
      if (!resolved.ok) return resolved;
      config = resolved.config;
    }
    return {
      ok: true,
      work: {
        event_id: eventId,
        event_type: eventType,
        ...workTarget(r),
        config,
        previous_config: r.provisioned && eventType !== "DELETE" ? r.appliedConfig : null,
        outputs: r.provisioned ? r.outputs : null,
        created_at: this.now.toISOString(),
      },
    };
  }
}
