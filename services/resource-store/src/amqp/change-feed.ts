import type { ChangedResource, TenantScope } from "@pragma/contracts";
import type { Logger } from "@pragma/logger";

/** At most this many resources per notification (a bulk retry of thousands goes as several). */
export const CHANGES_PER_MESSAGE = 500;
/**
 * How long changes wait to share a message. Every gateway process receives every message,
 * so under load their count is what the cache costs; at 10 ms a busy store sends at most
 * 100 a second (lifecycle bench: ~0.37 messages per resource when each turn sent its own).
 */
export const CHANGES_LINGER_MS = 10;

/**
 * Tells the gateways which resources a commit updated or deleted, so they drop what they
 * cached of them (services/gateway/README.md, "Resource cache"). Commits within
 * CHANGES_LINGER_MS of the first share one message; a resource named twice is named once. Best-effort by design: the
 * message is transient and a failed publish is logged, not retried, because a gateway that
 * misses one still drops its entries when they expire. Nothing here can fail a write.
 */
export class ChangeFeed {
  private pending = new Map<string, ChangedResource>();
  private scheduled = false;

  constructor(
    private readonly publish: (resources: ChangedResource[]) => Promise<void>,
    private readonly logger: Logger,
    private readonly lingerMs = CHANGES_LINGER_MS,
  ) {}

  /** After a commit: these resources of this scope changed. */
  changed(scope: TenantScope, resourceIds: Iterable<string>): void {
    for (const resource_id of resourceIds) {
      this.pending.set(`${scope.org_id}\u0000${scope.project_id}\u0000${scope.space_id}\u0000${resource_id}`, {
        org_id: scope.org_id,
        project_id: scope.project_id,
        space_id: scope.space_id,
        resource_id,
      });
    }
    if (this.pending.size > 0 && !this.scheduled) {
      this.scheduled = true;
      if (this.lingerMs > 0) setTimeout(() => this.flush(), this.lingerMs).unref();
      else setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const all = [...this.pending.values()];
    this.pending = new Map();
    for (let i = 0; i < all.length; i += CHANGES_PER_MESSAGE) {
      const chunk = all.slice(i, i + CHANGES_PER_MESSAGE);
      this.publish(chunk).catch((err: unknown) =>
        this.logger.warn({ err: { message: (err as Error).message }, resources: chunk.length }, "could not publish a change notification; gateway caches expire instead"),
      );
    }
  }
}
