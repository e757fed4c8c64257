import type { Clock } from "../resources/ports";
import type { ApplyDeps } from "../resources/apply-resource";
import type { ProviderRepository } from "./ports";

export interface ProviderKey {
  org_id: string;
  provider_id: string;
}
export interface VersionKey extends ProviderKey {
  version: string;
}

/** What the provider use cases need; service.ts builds the real ones. */
export interface ProviderDeps {
  providers: ProviderRepository;
  clock: Clock;
  /** Queues the build (confirmed by the broker before it resolves). */
  publishBuild(key: VersionKey): Promise<void>;
  /** Whether a worker runs this version and its process answered. */
  pingWorker(key: VersionKey): Promise<boolean>;
  /** The org's deployed types changed: drop cached copies. */
  onTypesChanged(orgId: string): void;
  /** For cascade delete through the resource lifecycle. */
  resources: Pick<ApplyDeps, "repo" | "onEventWritten" | "correlationId" | "sealer"> & { clock: Clock };
}

/** api.md §6: "YYYYMMDD.HHMMSS" (UTC); `plusSeconds` moves past a version already taken. */
export function versionAt(at: Date, plusSeconds = 0): string {
  const d = new Date(at.getTime() + plusSeconds * 1000).toISOString();
  return `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}.${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}`;
}
