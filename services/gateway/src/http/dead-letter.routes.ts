import { z } from "zod";
import { DeadLetterEntry, DeadLetterReason, DeletedCount, QueuedEvent, RetriedCount, RPC_QUEUES, deadLetterRequests, type RequestContract, type TenantScope } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { defineRoute, type AnyRoute, type RouteInput } from "./route";
import type { GatewayDeps } from "./deps";
import { errorResponses } from "./openapi-helpers";
import { TenancyHeaders } from "./schemas";

const ProviderQuery = z.object({ provider: z.string().min(1).optional().describe("Only this provider's events") });
const ListQuery = ProviderQuery.extend({
  // An unknown reason is 422 naming query.reason: a typo must not read as "no such entries".
  reason: DeadLetterReason.optional().describe("Only entries dead-lettered for this reason"),
  resource_type: z.string().min(1).optional().describe("Only entries of this resource type"),
});
const BulkDeleteQuery = z.object({
  all: z.enum(["true", "false"]).optional().describe("true: delete every entry in the scope"),
  provider: z.string().min(1).optional().describe("Delete this provider's entries"),
});
const EventIdParams = z.object({ event_id: z.string().min(1).max(256) });

/**
 * Dead-letter operations (spec §5): role operator or admin, scoped to org/project/space
 * like resources, so another tenant's entry is a 404 and never listed.
 */
export function deadLetterRoutes(deps: GatewayDeps): AnyRoute[] {
  const operator = { kind: "bearer", role: "operator" } as const;
  const common = errorResponses(400, 401, 403, 404, 429, 503, 504);
  const tags = ["ops"];
  /** The scope is decided here (token + headers, checked by the registry) and passed to the store. */
  const store = async <Q extends { scope: TenantScope }, R>(
    input: RouteInput<unknown, unknown, unknown>,
    contract: RequestContract<Q, R>,
    rest: Omit<Q, "scope">,
    options: { bulk?: boolean; requeues?: boolean } = {},
  ) => {
    const scope = await deps.tenancy.resolveScope(input.principal!, input.req.headers);
    const call = () => deps.bus.call(RPC_QUEUES.resourceStore, contract, { ...rest, scope } as Q, options.bulk ? { timeoutMs: deps.config.bulkRpcTimeoutMs } : {});
    // A retry puts resources back to pending: what this process cached of the scope is stale.
    return options.requeues ? deps.resources.afterWrite(scope, call) : call();
  };
  return [
    defineRoute({
      method: "get",
      path: "/ops/dead-letter",
      operationId: "listDeadLetterEvents",
      summary: "Dead-lettered events in the scope, newest first (payload and errors redacted); provider, reason and resource_type narrow the list together",
      tags,
      auth: operator,
      headers: TenancyHeaders,
      query: ListQuery,
      responses: { 200: { description: "Dead-lettered events", schema: z.array(DeadLetterEntry) }, ...common, ...errorResponses(422) },
      handler: async (input) => {
        const { provider, reason, resource_type } = input.query;
        input.res.json(
          await store(input, deadLetterRequests.list, {
            ...(provider ? { provider } : {}),
            ...(reason ? { reason } : {}),
            ...(resource_type ? { resource_type } : {}),
          }),
        );
      },
    }),
    defineRoute({
      method: "delete",
      path: "/ops/dead-letter",
      operationId: "deleteDeadLetterEvents",
      summary: "Bulk delete: ?all=true for every entry, or ?provider=x for one provider's (400 when neither)",
      tags,
      auth: operator,
      headers: TenancyHeaders,
      query: BulkDeleteQuery,
      responses: { 200: { description: "How many entries were deleted", schema: DeletedCount }, ...common, ...errorResponses(422) },
      handler: async (input) => {
        const { all, provider } = input.query;
        if (all !== "true" && !provider) throw new AppError("BAD_REQUEST", "Specify all=true or provider to bulk delete dead-letter events");
        input.res.json(await store(input, deadLetterRequests.deleteMany, provider ? { provider } : { all: true }, { bulk: true }));
      },
    }),
    defineRoute({
      method: "post",
      path: "/ops/dead-letter/retry-all",
      operationId: "retryAllDeadLetterEvents",
      summary:
        "Re-queue every dead-lettered event in the scope (optionally one provider's), each as a single retry does; busy or deleted resources, and references that no longer resolve, are skipped",
      tags,
      auth: operator,
      headers: TenancyHeaders,
      query: ProviderQuery,
      responses: { 200: { description: "How many events were re-queued", schema: RetriedCount }, ...common, ...errorResponses(422) },
      handler: async (input) => {
        // Many entries may take long (10,000 outlasted the default 10 s RPC timeout in the
        // bench before they went in chunks); BULK_RPC_TIMEOUT_MS bounds it.
        input.res.json(await store(input, deadLetterRequests.retryAll, input.query.provider ? { provider: input.query.provider } : {}, { bulk: true, requeues: true }));
      },
    }),
    defineRoute({
      method: "get",
      path: "/ops/dead-letter/{event_id}",
      operationId: "getDeadLetterEvent",
      summary: "One dead-lettered event with its attempts",
      tags,
      auth: operator,
      headers: TenancyHeaders,
      params: EventIdParams,
      responses: { 200: { description: "The event", schema: DeadLetterEntry }, ...common },
      handler: async (input) => {
        input.res.json(await store(input, deadLetterRequests.get, { event_id: input.params.event_id }));
      },
    }),
    defineRoute({
      method: "delete",
      path: "/ops/dead-letter/{event_id}",
      operationId: "deleteDeadLetterEvent",
      summary: "Discard one dead-lettered event (204 also when unknown)",
      tags,
      auth: operator,
      headers: TenancyHeaders,
      params: EventIdParams,
      responses: { 204: { description: "Deleted (or there was nothing to delete)" }, ...common },
      handler: async (input) => {
        await store(input, deadLetterRequests.delete, { event_id: input.params.event_id });
        input.res.status(204).end();
      },
    }),
    defineRoute({
      method: "post",
      path: "/ops/dead-letter/{event_id}/retry",
      operationId: "retryDeadLetterEvent",
      summary:
        "Re-queue one event as an apply would: the resource's current config with its references resolved, a fresh attempt budget, held (`held: true`, resource pending) while a dependency is not ready; retrying twice queues once",
      tags,
      auth: operator,
      headers: TenancyHeaders,
      params: EventIdParams,
      responses: { 200: { description: "The newly queued event", schema: QueuedEvent }, ...common, ...errorResponses(409) },
      handler: async (input) => {
        input.res.json(await store(input, deadLetterRequests.retry, { event_id: input.params.event_id }, { requeues: true }));
      },
    }),
  ];
}
