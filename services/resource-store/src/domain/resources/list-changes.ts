import { WATCH_CHANGES_MAX, type TenantScope } from "@pragma/contracts";
import type { ResourceRecord } from "./model";
import type { ChangeLog } from "./ports";

export interface ChangesRequest {
  after: string | null;
  provider?: string;
  resource?: string;
  tags?: string[];
  limit?: number;
}

export type ListedChange =
  | { kind: "changed"; at: string; record: ResourceRecord }
  | { kind: "deleted"; at: string; id: string; provider: string; resource: string; name: string };

/**
 * What changed in a scope since a watch position, with the list's filters. Tags are
 * matched on the current row, so a deletion is reported whatever the tags filter says
 * (the row, and its tags, are gone; a watcher drops ids it does not know).
 */
export async function listChanges(
  deps: { changeLog: ChangeLog },
  scope: TenantScope,
  q: ChangesRequest,
): Promise<{ position: string; reset: boolean; more: boolean; changes: ListedChange[] }> {
  const read = await deps.changeLog.changesSince(scope, {
    after: q.after,
    ...(q.provider !== undefined ? { provider: q.provider } : {}),
    ...(q.resource !== undefined ? { resourceType: q.resource } : {}),
    limit: q.limit ?? WATCH_CHANGES_MAX,
  });
  const changes: ListedChange[] = [];
  for (const row of read.rows) {
    if (row.record === null) {
      changes.push({ kind: "deleted", at: row.at, id: row.resourceId, provider: row.deleted.provider, resource: row.deleted.resourceType, name: row.deleted.name });
    } else if (!q.tags?.length || q.tags.every((t) => row.record!.tags?.includes(t))) {
      changes.push({ kind: "changed", at: row.at, record: row.record });
    }
  }
  return { position: read.horizon, reset: read.reset, more: read.more ?? false, changes };
}
