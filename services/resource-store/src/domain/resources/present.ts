import type { Resource } from "@pragma/contracts";
import type { ResourceRecord } from "./model";

/** The wire shape of a resource (spec §4). */
export function presentResource(r: ResourceRecord): Resource {
  return {
    id: r.resourceId,
    provider: r.provider,
    resource: r.resourceType,
    name: r.name,
    project_id: r.scope.project_id,
    space_id: r.scope.space_id,
    config: r.config,
    dependencies: r.dependencies,
    owner_references: r.ownerReferences,
    outputs: r.outputs,
    error: r.error,
    lifecycle_state: r.lifecycleState,
    pending_event_id: r.pendingEventId,
    provisioned: r.provisioned,
    tags: r.tags,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}
