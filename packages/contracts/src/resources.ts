import { z } from "zod";
import { defineMessage, defineRequest } from "./message";
import { TenantScope, WorkTarget, timestamp } from "./common";
import { ConfigObject, Tags, safeText } from "./input-safety";
import { Drift, DriftPolicy } from "./observe";
import { workRoutingKey } from "./providers";
import { EXCHANGES } from "./topology";

export const PROVIDER_RE = /^[a-z][a-z0-9-]*$/;
export const TYPE_NAME_RE = /^[a-z][a-z0-9_-]*$/;
export const RESOURCE_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

const unanchored = (re: RegExp) => re.source.slice(1, -1);
/**
 * A reference written inside a config string: `${provider/resource/name.outputs.field}`. The
 * name may hold dots, so it ends at the first `.outputs.`; the field runs to the `}` and holds
 * no space or brace. One grammar for the store (which resolves them) and the CLI and console
 * (which check them before sending). Capture groups: provider, resource, name, field.
 */
export const REFERENCE_INTERPOLATION = new RegExp(
  String.raw`\$\{(${unanchored(PROVIDER_RE)})\/(${unanchored(TYPE_NAME_RE)})\/(${unanchored(RESOURCE_NAME_RE)}?)\.outputs\.([^{}\s]+?)\}`,
  "g",
);

export const LIFECYCLE_STATES = ["draft", "pending", "processing", "ready", "failed"] as const;
export const LifecycleState = z.enum(LIFECYCLE_STATES);
export type LifecycleState = z.infer<typeof LifecycleState>;

export const EVENT_TYPES = ["CREATE", "UPDATE", "DELETE"] as const;
export const EventType = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventType>;

export const ResourceRef = z.object({
  provider: z.string().regex(PROVIDER_RE),
  resource: z.string().regex(TYPE_NAME_RE),
  name: z.string().regex(RESOURCE_NAME_RE),
});
export type ResourceRef = z.infer<typeof ResourceRef>;

export const ApplyResourceBody = z.object({
  provider: z.string().regex(PROVIDER_RE, "must match ^[a-z][a-z0-9-]*$"),
  resource: z.string().regex(TYPE_NAME_RE, "must match ^[a-z][a-z0-9_-]*$"),
  name: z.string().regex(RESOURCE_NAME_RE, "must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$"),
  config: ConfigObject().default({}),
  dependencies: z.array(ResourceRef).optional(),
  depends_on: z.array(safeText(512)).optional(),
  owner_references: z.array(ResourceRef).optional(),
  tags: Tags().nullable().optional(),
  /**
   * Every state parses so that asking for processing/ready/failed is a lifecycle
   * conflict (409 "Cannot transition from X to Y"), as spec §4 demands, not a 422.
   */
  lifecycle_state: LifecycleState.optional(),
  /** What drift does (api.md §9): heal (re-apply; the default) or report (record only). Kept when omitted. */
  drift_policy: DriftPolicy.optional(),
});
export type ApplyResourceBody = z.infer<typeof ApplyResourceBody>;

export const Resource = z.object({
  id: z.string(),
  provider: z.string(),
  resource: z.string(),
  name: z.string(),
  project_id: z.string(),
  space_id: z.string(),
  config: z.record(z.string(), z.unknown()),
  dependencies: z.array(ResourceRef),
  owner_references: z.array(ResourceRef),
  outputs: z.record(z.string(), z.unknown()),
  error: z.string().nullable(),
  lifecycle_state: LifecycleState,
  pending_event_id: z.string().nullable(),
  provisioned: z.boolean(),
  tags: z.array(z.string()).nullable(),
  /** Set while the real object differs from what was applied (api.md §9). */
  drift: Drift.nullable().optional(),
  drift_policy: DriftPolicy.optional(),
  created_at: timestamp(),
  updated_at: timestamp(),
});
export type Resource = z.infer<typeof Resource>;

export const ResourceStatus = z.object({
  resource_id: z.string(),
  lifecycle_state: LifecycleState,
  error: z.string().nullable(),
});

export type ResourceStatus = z.infer<typeof ResourceStatus>;

export const resourceId = (r: { provider: string; resource: string; name: string }) =>
  `resource:${r.provider}_${r.resource}_${r.name}`;

export const LIST_LIMIT_DEFAULT = 100;
export const LIST_LIMIT_MAX = 1000;

/** GET /resources/ query; `tags` may repeat (all must match). The cursor is opaque to clients. */
export const ListResourcesQuery = z.object({
  provider: z.string().optional(),
  resource: z.string().optional(),
  /** Repeated in the query string (`?tags=a&tags=b`); a single one arrives as a string. */
  tags: z.union([z.string(), z.array(z.string())]).optional(),
  limit: z.coerce.number().int().min(1).max(LIST_LIMIT_MAX).default(LIST_LIMIT_DEFAULT),
  cursor: z.string().min(1).optional(),
});
export type ListResourcesQuery = z.infer<typeof ListResourcesQuery>;

export const ResourcePage = z.object({ items: z.array(Resource), next_cursor: z.string().nullable() });
export type ResourcePage = z.infer<typeof ResourcePage>;

/** A type as GET /resources/types lists it (pragma's ResourceDefinition). */
export const ResourceDefinition = z.object({
  provider: z.string(),
  resource: z.string(),
  description: z.string().nullable(),
  schema: z.record(z.string(), z.unknown()),
  outputs_schema: z.record(z.string(), z.unknown()),
  tags: z.array(z.string()).nullable(),
});
export type ResourceDefinition = z.infer<typeof ResourceDefinition>;

/** DELETE's outcome: the resource now pending its DELETE event, or gone already (204). */
export const DeleteResourceResult = z.object({ resource: Resource.nullable() });

/**
 * Watch positions (api.md §8). A position is the store's transaction horizon as a decimal
 * string: every change committed by a transaction below it has been seen. Opaque to clients.
 */
export const WatchPosition = z.string().regex(/^[0-9]{1,20}$/, "a watch position");
export const WATCH_CHANGES_MAX = 1000;
export const ResourceChange = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("changed"), resource: Resource }),
  z.object({ kind: z.literal("deleted"), resource: z.object({ id: z.string(), provider: z.string(), resource: z.string(), name: z.string() }) }),
]);
export type ResourceChange = z.infer<typeof ResourceChange>;
/**
 * What changed in a scope since a position: the current state of each resource changed
 * (or its deletion), oldest change first, and the position to ask from next. `reset`: the
 * position is older than the store keeps changes for (or not one of its positions), so
 * the caller must list again; `changes` is then empty and `position` is the current one.
 */
export const ResourceChangesPage = z.object({
  position: WatchPosition,
  reset: z.boolean(),
  /** True when the page stopped at WATCH_CHANGES_MAX: ask again from `position` at once. */
  more: z.boolean(),
  changes: z.array(z.object({ change: ResourceChange, at: WatchPosition })),
});
export type ResourceChangesPage = z.infer<typeof ResourceChangesPage>;

// ---- requests answered by the resource store (queue rpc.resource-store) ----

export const resourceRequests = {
  apply: defineRequest("resources.resource.apply.v1", z.object({ scope: TenantScope, body: ApplyResourceBody }), Resource),
  /**
   * `reveal`: sensitive config and outputs in clear (the gateway sets it only for an admin
   * who asked); `sealed`: as stored, sensitive values sealed (for a provider worker, which
   * opens them itself: nothing in clear on the bus); otherwise redacted.
   */
  get: defineRequest("resources.resource.get.v1", z.object({ scope: TenantScope, id: z.string(), reveal: z.boolean().optional(), sealed: z.boolean().optional() }), Resource),
  status: defineRequest("resources.resource.status.v1", z.object({ scope: TenantScope, id: z.string() }), ResourceStatus),
  list: defineRequest(
    "resources.resource.list.v1",
    z.object({
      scope: TenantScope,
      provider: z.string().optional(),
      resource: z.string().optional(),
      tags: z.array(z.string()).optional(),
      limit: z.number().int().min(1).max(LIST_LIMIT_MAX),
      cursor: z.string().optional(),
    }),
    ResourcePage,
  ),
  /** Changes since a watch position (null: none, just the current position), same filters as list. */
  changes: defineRequest(
    "resources.resource.changes.v1",
    z.object({
      scope: TenantScope,
      after: WatchPosition.nullable(),
      provider: z.string().optional(),
      resource: z.string().optional(),
      tags: z.array(z.string()).optional(),
      limit: z.number().int().min(1).max(WATCH_CHANGES_MAX).optional(),
    }),
    ResourceChangesPage,
  ),
  /** force: delete even though other resources depend on it (otherwise CONFLICT naming them). */
  delete: defineRequest("resources.resource.delete.v1", z.object({ scope: TenantScope, id: z.string(), force: z.boolean().optional() }), DeleteResourceResult),
  /** The store keeps the catalogue (built-in types from the workers, cached) because apply validates against it. */
  listTypes: defineRequest("resources.type.list.v1", z.object({ scope: TenantScope, provider: z.string().optional() }), z.object({ types: z.array(ResourceDefinition) })),
} as const;

// ---- change notifications (exchange pragma.events, routing key = message type) ----

/**
 * Published by the store after a commit that updated or deleted resources (several commits
 * within 10 ms share a message): which resources changed, not how. Transient and
 * best-effort: gateways drop their cached answers for these resources; a gateway that
 * misses one still drops its entries when they expire.
 */
export const ChangedResource = z.object({ org_id: z.string(), project_id: z.string(), space_id: z.string(), resource_id: z.string() });
export type ChangedResource = z.infer<typeof ChangedResource>;

export const resourceEvents = {
  changed: defineMessage("resources.resource.changed.v1", z.object({ resources: z.array(ChangedResource).min(1) }), { exchange: EXCHANGES.events }),
} as const;

// ---- work for provider workers (exchange pragma.work, routing key = workRoutingKey(provider)) ----

export const ResourceWork = z.object({
  event_id: z.string(),
  event_type: EventType,
  ...WorkTarget.shape,
  /** Fully resolved: providers never see reference objects. */
  config: z.record(z.string(), z.unknown()),
  previous_config: z.record(z.string(), z.unknown()).nullable(),
  /** Outputs from the last success, so update and delete hooks know what exists. */
  outputs: z.record(z.string(), z.unknown()).nullable(),
  created_at: timestamp(),
});
export type ResourceWork = z.infer<typeof ResourceWork>;

export const resourceWork = defineMessage("resources.resource.reconcile.v1", ResourceWork, { exchange: EXCHANGES.work, routingKey: (w) => workRoutingKey(w.provider) });

// ---- results from workers (exchange pragma.results) ----

const resultBase = z.object({
  event_id: z.string(),
  resource_id: z.string(),
  org_id: z.string(),
  project_id: z.string(),
  space_id: z.string(),
  at: timestamp(),
});

const onResults = { exchange: EXCHANGES.results };

export const providerResults = {
  started: defineMessage("provider.event.started.v1", resultBase.extend({ attempt: z.number().int().nonnegative() }), onResults),
  succeeded: defineMessage(
    "provider.event.succeeded.v1",
    resultBase.extend({ event_type: EventType, outputs: z.record(z.string(), z.unknown()) }),
    onResults,
  ),
  failed: defineMessage(
    "provider.event.failed.v1",
    resultBase.extend({ event_type: EventType, error: z.string(), permanent: z.boolean() }),
    onResults,
  ),
} as const;

export type ResultKind = keyof typeof providerResults;
export type ProviderResult = { [K in ResultKind]: { kind: K; payload: z.infer<(typeof providerResults)[K]["schema"]> } }[ResultKind];

const reportedEntry = <K extends ResultKind>(kind: K) =>
  z.object({
    /** The type the result has as a message of its own. */
    type: z.literal(providerResults[kind].type),
    /** The message id and correlation id it has as a message of its own. */
    message_id: z.string(),
    correlation_id: z.string().optional(),
    data: providerResults[kind].schema as (typeof providerResults)[K]["schema"],
  });

/**
 * Several results in one message: what one worker finished in the same turn of its event
 * loop. Each entry is exactly a result message of its own (type, ids, body), so a
 * consumer treats them one by one, in order. A worker publishes a lone result as the
 * plain message; a batch appears only when there is something to share. Routed with key
 * `provider.event.reported.v1`, which the `provider.event.#` binding already covers.
 */
export const providerResultsReported = defineMessage(
  "provider.event.reported.v1",
  z.object({
    results: z
      .array(z.discriminatedUnion("type", [reportedEntry("started"), reportedEntry("succeeded"), reportedEntry("failed")]))
      .min(1)
      .max(256),
  }),
  onResults,
);

const RESULT_KIND_OF = new Map<string, ResultKind>(
  (Object.keys(providerResults) as ResultKind[]).map((k) => [providerResults[k].type, k]),
);

/** Every result message type a results consumer accepts: the three plain ones and the batch. */
export const RESULT_MESSAGE_CONTRACTS = [providerResults.started, providerResults.succeeded, providerResults.failed, providerResultsReported] as const;

/**
 * The results a delivery of one of RESULT_MESSAGE_CONTRACTS carries (already validated
 * against its contract), in order, each with the ids it has as a message of its own.
 */
export function resultsOf(type: string, payload: unknown, ids: { messageId: string; correlationId?: string | undefined }): ReportedResult[] {
  if (type === providerResultsReported.type) {
    return (payload as z.infer<typeof providerResultsReported.schema>).results.map(
      (e) => ({ kind: RESULT_KIND_OF.get(e.type)!, payload: e.data, messageId: e.message_id, correlationId: e.correlation_id }) as ReportedResult,
    );
  }
  const kind = RESULT_KIND_OF.get(type);
  if (!kind) throw new Error(`not a result message type: ${type}`);
  return [{ kind, payload, messageId: ids.messageId, correlationId: ids.correlationId } as ReportedResult];
}

/** One result as resultsOf gives it: its kind and body, and the ids it has as a message of its own. */
export type ReportedResult = ProviderResult & { messageId: string; correlationId?: string | undefined };
