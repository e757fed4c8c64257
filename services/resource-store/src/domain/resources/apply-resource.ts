import { newId } from "@pragma/ids";
import { AppError, type ValidationIssue } from "@pragma/errors";
import { resourceId as idOf, type ApplyResourceBody, type ResourceDefinition, type ResourceRef, type TenantScope } from "@pragma/contracts";
import type { OutboxEventRecord, ResourceRecord } from "./model";
import type { Clock, ResourceRepository, Sealer, StoreTx, TypeCatalog } from "./ports";
import { containsSealed } from "@pragma/crypto";
import { sensitiveKeys } from "./sensitive-outputs";
import { Lifecycle } from "./lifecycle";
import { declaresField, findReferences, mergeDependencies, parseDependsOn, readPath, type FieldReference } from "./references";
import { assertModifiable, transitionError } from "./transitions";
import { validateConfig } from "./validate-config";
import { slashName } from "./resource-id";
import { recallAnswer, recordAnswer, reviveRecord, type RequestKey } from "./repeated-requests";

export interface ApplyDeps {
  repo: ResourceRepository;
  clock: Clock;
  types: TypeCatalog;
  sealer: Sealer;
  /** Called after commit when an event became publishable, so the relay does not wait for its poll. */
  onEventWritten?: () => void;
  correlationId?: () => string | undefined;
}

const USER_STATES = new Set(["draft", "pending"]);

/**
 * Applies a resource per the lifecycle rules (spec §4): the state change and its
 * outbox event commit in one transaction, so an accepted `pending` apply always has
 * exactly one event, published or held until its dependencies are ready.
 */
export async function applyResource(deps: ApplyDeps, scope: TenantScope, body: ApplyResourceBody, request?: RequestKey): Promise<ResourceRecord> {
  const id = idOf(body);
  const requested = body.lifecycle_state;
  const wantPending = requested === "pending";
  const dependsOn = parseDependsOnList(body.depends_on ?? []);
  const refs = findReferences(body.config).flatMap((s) => s.refs);
  const dependencies = mergeDependencies(body.dependencies ?? [], dependsOn, refs.map((r) => r.target));

  if (containsSealed(body.config)) {
    throw new AppError("VALIDATION_FAILED", [{ loc: ["body", "config"], msg: "values starting with \"pragma:sealed:\" are reserved for sealed secrets", type: "value_error" }]);
  }
  // The catalogue comes over the bus, so it is read before the transaction opens. A
  // draft needs it only for which config fields are sensitive (cached, rarely a call).
  const catalog = wantPending ? await deps.types.list(scope) : ((await deps.types.list(scope).catch(() => null)) ?? []);
  const def = findType(catalog, body.provider, body.resource);
  // Sensitive config is sealed before it is stored (spec §4.3): declared fields and
  // secret-named keys. References inside a sealed value are resolved inside it later.
  const config = deps.sealer.sealSensitive(body.config, def ? sensitiveKeys(def.schema) : []);
  if (wantPending) {
    if (!def) {
      throw new AppError("VALIDATION_FAILED", [{ loc: ["body", "resource"], msg: `Unknown resource type: ${body.provider}/${body.resource}`, type: "value_error" }]);
    }
    const issues = validateConfig(def, body.config);
    if (issues.length > 0) throw new AppError("VALIDATION_FAILED", issues);
  }

  if (requested !== undefined && !USER_STATES.has(requested)) {
    // Only draft and pending can be asked for; the error names the state the resource is in.
    const current = await deps.repo.readInScope(scope, (tx) => tx.getResource(id));
    throw transitionError(current?.lifecycleState ?? "draft", requested);
  }

  const write = async (tx: StoreTx, assumeNew: boolean) => {
    const now = deps.clock.now();
    // A repeat of a request that already ran (redelivered, re-sent, retried with its
    // Idempotency-Key) gets its first answer and writes nothing. A create cannot be one:
    // its resource would exist, and createIfAbsent would have written nothing.
    const prior = assumeNew ? null : await recallAnswer(tx, request);
    if (prior) return { record: reviveRecord(prior.answer), released: false };
    const lc = new Lifecycle(tx, now, deps.correlationId?.() ?? null, deps.sealer);
    // Dependencies first, share-locked, then our own row: a dependency finishing at this
    // moment either commits before we read it (we see it ready) or waits for our commit
    // (and then finds us among its dependents). Without it, both could miss each other
    // and the held event would never be released. Always before our own row, so that a
    // dependency's result transaction, which locks it and then its dependents, cannot
    // wait on us while we wait on it.
    if (wantPending && !assumeNew) await tx.shareLockResources(dependencies.map(idOf).filter((d) => d !== id));
    const existing = assumeNew ? null : await tx.lockResource(id);
    if (existing && (existing.provider !== body.provider || existing.resourceType !== body.resource || existing.name !== body.name)) {
      throw new AppError(
        "CONFLICT",
        `Resource id ${id} is already used by ${slashName(existing)}; ${body.provider}/${body.resource}/${body.name} would collide with it`,
      );
    }
    if (existing) assertModifiable(existing.lifecycleState);

    const base: ResourceRecord = existing ?? {
      rowId: newId("resource"),
      scope,
      resourceId: id,
      provider: body.provider,
      resourceType: body.resource,
      name: body.name,
      config: {},
      appliedConfig: null,
      dependencies: [],
      ownerReferences: [],
      outputs: {},
      error: null,
      lifecycleState: "draft",
      pendingEventId: null,
      provisioned: false,
      tags: null,
      staleInputs: false,
      drift: null,
      driftPolicy: "heal",
      observationId: null,
      createdAt: now,
      updatedAt: now,
    };
    // Sealed values differ on every sealing (a fresh IV): compare what they hold.
    const configChanged = !sameJson(deps.sealer.openDeep(base.config).value, body.config);
    const next: ResourceRecord = {
      ...base,
      config: configChanged ? config : base.config,
      dependencies,
      ownerReferences: mergeDependencies(body.owner_references ?? []),
      tags: body.tags === undefined ? base.tags : body.tags,
      driftPolicy: body.drift_policy ?? base.driftPolicy,
      updatedAt: now,
    };

    await lc.record(next, "applied", null, `applied${requested ? ` as ${requested}` : ""}${existing ? (configChanged ? ", config changed" : "") : ", new resource"}`);
    if (wantPending) {
      await queueChecked(tx, lc, next, next.provisioned ? "UPDATE" : "CREATE", catalog);
    } else if (existing && (requested === "draft" || configChanged)) {
      lc.park(next);
    }
    if (existing) await tx.updateResource(next);
    else await tx.insertResource(next);
    await recordAnswer(tx, request, next);
    return { record: next, released: lc.released };
  };

  // Most applies without dependencies create a resource: first try that alone, in one
  // round trip that reads nothing (nothing to check: no dependency, no reference). If the
  // resource exists after all, nothing was written and the full path below reads it (and
  // finds the recorded answer, if this request is a repeat of the one that created it).
  // A client's Idempotency-Key may come with a new resource but a used key: only the full
  // path checks the key before writing.
  const done = (dependencies.length === 0 && !request?.clientKey ? await deps.repo.createIfAbsent(scope, (tx) => write(tx, true)) : undefined) ?? (await deps.repo.inScope(scope, (tx) => write(tx, false)));
  if (done.released) deps.onEventWritten?.();
  return done.record;
}

/**
 * How a stored resource gets its next CREATE or UPDATE, for apply `pending` and for a
 * dead-letter retry alike: dependencies and references checked (§4.2: a missing target, a
 * cycle or an unresolvable reference is 422 and nothing is written), then the event
 * written through the lifecycle, held while a dependency is not ready, its references
 * resolved against the dependencies' outputs when it is released. The caller has locked
 * `r` and persists it.
 */
export async function queueChecked(tx: StoreTx, lc: Lifecycle, r: ResourceRecord, eventType: "CREATE" | "UPDATE", catalog: ResourceDefinition[]): Promise<OutboxEventRecord> {
  if (r.dependencies.length > 0) await checkGraph(tx, r.resourceId, r.dependencies, findReferences(r.config).flatMap((s) => s.refs), catalog);
  return lc.queue(r, eventType);
}

function parseDependsOnList(list: string[]): ResourceRef[] {
  const issues: ValidationIssue[] = [];
  const refs: ResourceRef[] = [];
  list.forEach((s, i) => {
    const ref = parseDependsOn(s);
    if (ref) refs.push(ref);
    else issues.push({ loc: ["body", "depends_on", i], msg: "must be provider/resource/name", type: "value_error" });
  });
  if (issues.length > 0) throw new AppError("VALIDATION_FAILED", issues);
  return refs;
}

export function findType(catalog: ResourceDefinition[], provider: string, resource: string): ResourceDefinition | undefined {
  return catalog.find((t) => t.provider === provider && t.resource === resource);
}

/** Spec §4.2 on apply pending: targets exist, no cycle, referenced outputs declared (and present when the target is ready). */
async function checkGraph(tx: StoreTx, id: string, dependencies: ResourceRef[], refs: FieldReference[], catalog: ResourceDefinition[]): Promise<void> {
  const depIds = dependencies.map(idOf);
  const found = new Map((await tx.getResources(depIds.filter((d) => d !== id))).map((r) => [r.resourceId, r]));
  const missing = depIds.filter((d) => d !== id && !found.has(d));
  if (missing.length > 0) throw new AppError("DEPENDENCY_FAILED", { message: "Dependency validation failed", missing_dependencies: missing });

  const cycle = await findCycle(tx, id, depIds);
  if (cycle) throw new AppError("DEPENDENCY_FAILED", { message: `Dependency cycle detected: ${cycle.join(" -> ")}`, cycle });

  for (const ref of refs) {
    const target = found.get(idOf(ref.target));
    const def = findType(catalog, ref.target.provider, ref.target.resource);
    const declared = def ? declaresField(def.outputs_schema, ref.field) : true;
    const present = !target || target.lifecycleState !== "ready" || readPath(target.outputs, ref.field).found;
    if (!declared || !present) {
      throw new AppError("DEPENDENCY_FAILED", {
        message: "Field reference resolution failed",
        reference_provider: ref.target.provider,
        reference_resource: ref.target.resource,
        reference_name: ref.target.name,
        field: ref.field,
      });
    }
  }
}

/** A path dep -> … -> id through stored edges (with id's new edges), as [id, dep, …, id]. */
async function findCycle(tx: StoreTx, id: string, depIds: string[]): Promise<string[] | null> {
  if (depIds.includes(id)) return [id, id];
  const parent = new Map<string, string>(depIds.map((d) => [d, id]));
  let frontier = [...new Set(depIds)];
  while (frontier.length > 0) {
    const edges = await tx.dependencyEdges(frontier);
    const next: string[] = [];
    for (const [from, tos] of edges) {
      for (const to of tos) {
        if (to === id) {
          const path = [id];
          for (let cur: string | undefined = from; cur && cur !== id; cur = parent.get(cur)) path.push(cur);
          // path is id <- from <- … <- dep; read it in dependency order.
          return [id, ...path.slice(1).reverse(), id];
        }
        if (!parent.has(to)) {
          parent.set(to, from);
          next.push(to);
        }
      }
    }
    frontier = next;
  }
  return null;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

export function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}
