import { AppError } from "@pragma/errors";
import type { TenantScope } from "@pragma/contracts";
import type { ResourceRecord } from "./model";
import type { ResourceRepository } from "./ports";

export interface ListRequest {
  provider?: string;
  resource?: string;
  tags?: string[];
  limit: number;
  cursor?: string;
}

/** Sorted by name (then id, since names repeat across types); keyset pagination with an opaque cursor. */
export async function listResources(deps: { repo: ResourceRepository }, scope: TenantScope, q: ListRequest): Promise<{ items: ResourceRecord[]; nextCursor: string | null }> {
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  const rows = await deps.repo.readInScope(scope, (tx) =>
    tx.list({
      ...(q.provider !== undefined ? { provider: q.provider } : {}),
      ...(q.resource !== undefined ? { resourceType: q.resource } : {}),
      ...(q.tags ? { tags: q.tags } : {}),
      ...(after ? { after } : {}),
      limit: q.limit + 1,
    }),
  );
  const items = rows.slice(0, q.limit);
  const last = items[items.length - 1];
  const nextCursor = rows.length > q.limit && last ? encodeCursor({ name: last.name, resourceId: last.resourceId }) : null;
  return { items, nextCursor };
}

function encodeCursor(c: { name: string; resourceId: string }): string {
  return Buffer.from(JSON.stringify([c.name, c.resourceId])).toString("base64url");
}

function decodeCursor(s: string): { name: string; resourceId: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, "base64url").toString("utf8"));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === "string" && typeof v[1] === "string") return { name: v[0], resourceId: v[1] };
  } catch {
    // fall through to the 422
  }
  throw new AppError("VALIDATION_FAILED", [{ loc: ["query", "cursor"], msg: "invalid cursor", type: "value_error" }]);
}
