import type { Logger } from "@pragma/logger";

export interface RevokedKey {
  key_id: string;
  revoked_at: string;
}

export interface RevokedKeysOptions {
  /** Every key revoked at or after `since` (the registry's list-revoked request). */
  list(since: Date): Promise<RevokedKey[]>;
  /**
   * How long after its revocation a key must stay refused: the longest a token issued
   * before (or racing with) the revocation can live, i.e. the token ceiling plus clock skew
   * plus a margin for clocks that disagree.
   */
  retainMs: number;
  /** Re-read the whole list this often, the bound on staleness should an announcement be lost. */
  resyncMs: number;
  /** Wait before retrying a failed read; doubles with each failure in a row, up to 5 s. */
  retryMs?: number;
  logger: Logger;
  now?: () => number;
}

/**
 * The API keys whose tokens this gateway process refuses although their signature is
 * valid: an in-memory set, so the per-request check is one Map lookup.
 *
 * Kept fresh by three things (none of them Redis): the process that answers
 * `DELETE /orgs/{org}/api-keys/{id}` adds the key at once; every process hears the
 * registry's `registry.api-key.revoked.v1` (relayed from its outbox) within milliseconds;
 * and the whole list is re-read from the registry on every (re)connection to the broker
 * (announcements sent meanwhile were lost with the old queue) and every `resyncMs`.
 *
 * Until a read has succeeded since the last (re)connection the list is not `ready`: the
 * caller must not trust it (fail closed). Entries are dropped once no token issued before
 * the revocation can still be alive.
 */
export class RevokedKeys {
  /** key id → epoch ms after which no token of this key can still be valid. */
  private readonly until = new Map<string, number>();
  private synced = false;
  /** Bumped on every (re)connection: a read that started before it may have missed an announcement. */
  private generation = 0;
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private waiters: (() => void)[] = [];
  private stopped = false;
  private failures = 0;
  private readonly now: () => number;

  constructor(private readonly opts: RevokedKeysOptions) {
    this.now = opts.now ?? Date.now;
  }

  ready(): boolean {
    return this.synced;
  }

  isRevoked(keyId: string): boolean {
    const until = this.until.get(keyId);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.until.delete(keyId);
    return false;
  }

  /** A revocation learnt of (this process's DELETE, or the registry's announcement). */
  add(keyId: string, revokedAt: string): void {
    const until = Date.parse(revokedAt) + this.opts.retainMs;
    if (!(until > this.now())) return;
    if ((this.until.get(keyId) ?? 0) < until) this.until.set(keyId, until);
  }

  /**
   * A new broker connection, before the announcement queue is bound again: what was
   * announced meanwhile is unknown, so the list is not trusted until it is read again.
   */
  invalidate(): void {
    this.generation++;
    this.synced = false;
  }

  /** The announcement queue is bound again: read the list now (a read that started earlier does not count). */
  reconnected(): void {
    this.invalidate();
    this.schedule(0);
  }

  /** Resolves true once ready, false after `timeoutMs`. */
  whenReady(timeoutMs: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve(this.synced);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(done);
    });
  }

  /** One read of the registry's list; schedules the next read (retry soon on failure, else resync). */
  sync(): Promise<void> {
    this.syncing ??= this.read().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async read(): Promise<void> {
    const generation = this.generation;
    const now = this.now();
    let keys: RevokedKey[];
    try {
      keys = await this.opts.list(new Date(now - this.opts.retainMs));
    } catch (err) {
      // At start-up the registry may simply not be up yet: log the first failure and then every tenth.
      if (this.failures % 10 === 0) this.opts.logger.warn({ err: (err as Error).message, failures: this.failures + 1 }, "revoked API keys: could not read the list from the registry, retrying");
      this.schedule(Math.min((this.opts.retryMs ?? 250) * 2 ** this.failures, 5_000));
      this.failures++;
      return;
    }
    this.failures = 0;
    for (const [id, until] of this.until) if (until <= now) this.until.delete(id);
    for (const k of keys) this.add(k.key_id, k.revoked_at);
    if (generation !== this.generation) {
      // A reconnection happened while reading: reconnected() has scheduled the next read.
      return;
    }
    if (!this.synced) this.opts.logger.info({ revoked: this.until.size }, "revoked API keys: list read from the registry");
    this.synced = true;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
    this.schedule(this.opts.resyncMs);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      // A read in flight covers the request only if it started after the last reconnection;
      // otherwise run another once it is done.
      if (this.syncing) void this.syncing.then(() => this.sync());
      else void this.sync();
    }, ms);
    this.timer.unref();
  }
}
