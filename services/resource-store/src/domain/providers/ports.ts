import type { BuildStatus, TenantScope, TypeDefinition } from "@pragma/contracts";

export type StoredBuildStatus = BuildStatus | "uploading";

export interface BuildRecord {
  orgId: string;
  providerId: string;
  version: string;
  status: StoredBuildStatus;
  deployOnSuccess: boolean;
  errorMessage: string | null;
  createdAt: Date;
}

export interface DeploymentRecord {
  orgId: string;
  providerId: string;
  version: string;
  status: string;
  updatedAt: Date;
}

export interface ProviderRecord {
  orgId: string;
  providerId: string;
  deleting: boolean;
  updatedAt: Date;
}

/** One org's resource of a provider, wherever it lives in the org. */
export interface ProviderResourceRef {
  scope: TenantScope;
  resourceId: string;
  lifecycleState: string;
}

export interface ProviderRepository {
  /** Creates the provider row if needed and an invisible `uploading` build; the version is unique per provider. */
  beginUpload(orgId: string, providerId: string, version: (attempt: number) => string, at: Date): Promise<string>;
  getProvider(orgId: string, providerId: string): Promise<ProviderRecord | null>;
  /** Appends a chunk to an `uploading` build; false when there is no such build. */
  addChunk(orgId: string, providerId: string, version: string, seq: number, data: Buffer): Promise<boolean>;
  /** uploading → pending; null when there is no such upload. */
  commitUpload(orgId: string, providerId: string, version: string, deployOnSuccess: boolean, at: Date): Promise<BuildRecord | null>;
  /** Removes the upload, and the provider row when nothing else of it exists. */
  abortUpload(orgId: string, providerId: string, version: string): Promise<void>;
  chunk(orgId: string, providerId: string, version: string, seq: number): Promise<{ data: Buffer; chunks: number } | null>;
  listProviders(orgId: string): Promise<(ProviderRecord & { deployment: DeploymentRecord | null })[]>;
  /** Visible builds (not uploading), newest first. */
  listBuilds(orgId: string, providerId: string, limit: number): Promise<BuildRecord[]>;
  getBuild(orgId: string, providerId: string, version: string): Promise<BuildRecord | null>;
  buildLog(orgId: string, providerId: string, version: string): Promise<string | null>;
  /** Records a build's progress or outcome; the log replaces the stored one when given. */
  updateBuild(
    orgId: string,
    providerId: string,
    version: string,
    change: { status: BuildStatus; errorMessage?: string | null; log?: string; bundle?: string; types?: TypeDefinition[] },
    at: Date,
  ): Promise<BuildRecord | null>;
  bundle(orgId: string, providerId: string, version: string): Promise<string | null>;
  buildTypes(orgId: string, providerId: string, version: string): Promise<TypeDefinition[] | null>;
  getDeployment(orgId: string, providerId: string): Promise<DeploymentRecord | null>;
  setDeployment(orgId: string, providerId: string, version: string, at: Date): Promise<DeploymentRecord>;
  /** Types of every deployed provider of the org that is not being deleted. */
  deployedTypes(orgId: string): Promise<TypeDefinition[]>;
  providerResources(orgId: string, providerId: string): Promise<ProviderResourceRef[]>;
  markDeleting(orgId: string, providerId: string): Promise<void>;
  /** Deletes the provider with its builds and deployment; whether a deployment existed. */
  deleteProvider(orgId: string, providerId: string): Promise<boolean>;
  /** Deletes providers marked deleting whose last resource is gone; how many. */
  finalizeDeleted(): Promise<number>;
}
