import type { Resource, ResourceDefinition } from "@pragma/contracts";
import { redactText } from "@pragma/logger";
import type { ResourceRecord } from "./model";
import type { Sealer } from "./ports";
import { resourceRedactor } from "./sensitive-outputs";

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
    drift: r.drift ? { detected_at: r.drift.detectedAt.toISOString(), fields: r.drift.fields } : null,
    drift_policy: r.driftPolicy,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

/**
 * The wire shape with sensitive values (spec §4.3) redacted, or, for an admin's reveal,
 * opened. The error was scrubbed by the worker of every secret its event carried; URL
 * passwords and key=value secrets are scrubbed again here, whoever wrote it.
 */
export function presentSensitive(how: { reveal: Sealer } | { types: readonly ResourceDefinition[] | null }): (r: ResourceRecord) => Resource {
  if ("reveal" in how) {
    const sealer = how.reveal;
    return (r) => ({ ...presentResource(r), config: sealer.openDeep(r.config).value, outputs: sealer.openDeep(r.outputs).value });
  }
  const redact = resourceRedactor(how.types);
  return (r) => ({
    ...presentResource(r),
    config: redact.config(r.provider, r.resourceType, r.config),
    outputs: redact.outputs(r.provider, r.resourceType, r.outputs),
    error: r.error === null ? null : redactText(r.error),
  });
}
