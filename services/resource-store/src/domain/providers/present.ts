import type { BuildInfo, DeploymentStatus } from "@pragma/contracts";
import type { BuildRecord, DeploymentRecord } from "./ports";

export function presentBuild(b: BuildRecord): BuildInfo {
  return {
    provider_id: b.providerId,
    version: b.version,
    // An upload is never shown; committed is the first state anyone sees.
    status: b.status === "uploading" ? "pending" : b.status,
    error_message: b.errorMessage,
    created_at: b.createdAt.toISOString(),
  };
}

export function presentDeployment(d: DeploymentRecord, healthy: boolean): DeploymentStatus {
  return { status: d.status, version: d.version, updated_at: d.updatedAt.toISOString(), healthy };
}
