import { z } from "zod";
import { defineRequest } from "./message";

/**
 * Requests answered by provider workers on RPC_QUEUES.providerWorker
 * ("rpc.provider-worker"); any replica may answer. The resource store (or gateway)
 * sends the resource as stored, since workers keep no resource state.
 */
const InspectedResource = z.object({
  org_id: z.string(),
  project_id: z.string(),
  space_id: z.string(),
  resource_id: z.string(),
  provider: z.string(),
  resource_type: z.string(),
  resource_name: z.string(),
  config: z.record(z.string(), z.unknown()),
  outputs: z.record(z.string(), z.unknown()).nullable(),
});
export type InspectedResource = z.infer<typeof InspectedResource>;

export const ResourceHealth = z.object({
  resource_id: z.string(),
  status: z.enum(["healthy", "unhealthy", "degraded"]),
  message: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
  checked_at: z.string(),
});
export type ResourceHealth = z.infer<typeof ResourceHealth>;

export const ResourceLogLine = z.object({
  at: z.string(),
  level: z.string(),
  message: z.string(),
  fields: z.record(z.string(), z.unknown()).optional(),
});

export const TypeDefinition = z.object({
  provider: z.string(),
  resource: z.string(),
  description: z.string(),
  schema: z.record(z.string(), z.unknown()),
  outputs_schema: z.record(z.string(), z.unknown()),
  sensitive_outputs: z.array(z.string()),
  tags: z.array(z.string()),
  /** Which optional hooks the type has (pushed providers' builds record it; the worker routes health and logs by it). */
  hooks: z.object({ health: z.boolean(), logs: z.boolean() }).optional(),
});
export type TypeDefinition = z.infer<typeof TypeDefinition>;

export const workerRequests = {
  /** NOT_FOUND when the type has no health check (the edge answers 404); UPSTREAM_ERROR when the check itself fails. */
  health: defineRequest("provider.resource.health.v1", InspectedResource, ResourceHealth),
  /** The resource's lifecycle log lines (shared by all replicas), or the type's own logs hook. */
  logs: defineRequest(
    "provider.resource.logs.v1",
    InspectedResource.extend({ tail: z.number().int().min(1).max(10000).default(100), since: z.string().datetime({ offset: true }).optional() }),
    z.object({ resource_id: z.string(), lines: z.array(ResourceLogLine) }),
  ),
  /** The types this worker serves, as GET /resources/types lists them (JSON Schema, sensitive fields marked). */
  listTypes: defineRequest("provider.type.list.v1", z.object({ provider: z.string().optional() }), z.object({ types: z.array(TypeDefinition) })),
} as const;
