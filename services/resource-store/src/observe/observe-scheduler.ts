import { OBSERVE, observeMessages, type ObserveWork } from "@pragma/contracts";
import type { Logger } from "@pragma/logger";
import type { Broker, TopologySpec } from "@pragma/messaging";
import { workTarget, type ResourceRecord } from "../domain/resources/model";

/**
 * Publishes observations (packages/contracts/src/observe.ts): the next one of a cycle into a delay
 * queue, a refresh straight to the provider's observe queue. Nothing here keeps time:
 * the delay is the broker's (a TTL'd queue per tier, dead-lettering into pragma.observe),
 * so every store replica may publish, and a restart loses no schedule.
 *
 * Jitter: each message expires after 80-100 % of its tier (per-message expiration, capped
 * by the queue's TTL), so resources applied together spread out over the following
 * cycles instead of arriving together for ever.
 *
 * A publish that fails is logged and the resource's cycle stops there until the sweeper
 * finds it overdue and restarts it (observe-sweeper.ts); an observation is a read, nothing
 * else is lost with it.
 */
export class ObserveScheduler {
  readonly tiers: number[];

  constructor(
    private readonly broker: Pick<Broker, "publish">,
    opts: { tiersMs: readonly number[]; defaultIntervalMs: number },
    private readonly logger: Logger,
    private readonly random: () => number = Math.random,
  ) {
    this.tiers = [...new Set([...opts.tiersMs, opts.defaultIntervalMs])].sort((a, b) => a - b);
    this.defaultIntervalMs = opts.defaultIntervalMs;
  }

  private readonly defaultIntervalMs: number;

  /** The tier an interval waits in: the longest not above it (the shortest if all are). */
  tierFor(intervalMs: number): number {
    let tier = this.tiers[0]!;
    for (const t of this.tiers) if (t <= intervalMs) tier = t;
    return tier;
  }

  /** Observe `r` after about intervalMs (its type's interval; the default for a first observation), as the cycle's `tick`. */
  async schedule(r: ResourceRecord, intervalMs = this.defaultIntervalMs, tick?: string): Promise<void> {
    const work = observeWork(r, tick);
    if (!work) return;
    const tier = this.tierFor(intervalMs);
    await this.broker
      .publish(observeMessages.observe, work, {
        // Not the contract's route (the observe queue itself): the delay queue of the tier.
        exchange: OBSERVE.delayExchange,
        routingKey: OBSERVE.delayQueue(tier),
        messageId: work.observation_id,
        // Dead-lettering keeps CC routing keys: the expired message enters pragma.observe under its provider's key.
        headers: { CC: [r.provider] },
        expiration: String(Math.round(tier * (0.8 + 0.2 * this.random()))),
      })
      .catch((err: unknown) => this.logger.warn({ resourceId: r.resourceId, err }, "observation not scheduled"));
  }

  /** Observe now (refresh). Rejects when no worker serves the provider's observe queue. */
  async now(r: ResourceRecord): Promise<void> {
    const work = observeWork(r);
    if (!work) return;
    await this.broker.publish(observeMessages.observe, work, { messageId: work.observation_id });
  }

  /** The delay exchange and one TTL'd queue per tier, dead-lettering into pragma.observe; the store's results queue. */
  topology(): TopologySpec {
    return {
      exchanges: [
        { name: OBSERVE.exchange, type: "direct" },
        { name: OBSERVE.delayExchange, type: "direct" },
      ],
      queues: [
        ...this.tiers.map((ms) => ({
          name: OBSERVE.delayQueue(ms),
          arguments: { "x-queue-type": "quorum", "x-message-ttl": ms, "x-dead-letter-exchange": OBSERVE.exchange, "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish" },
        })),
        { name: OBSERVE.resultsQueue, arguments: { "x-queue-type": "quorum", "x-delivery-limit": 5 } },
      ],
      bindings: [
        ...this.tiers.map((ms) => ({ source: OBSERVE.delayExchange, destination: OBSERVE.delayQueue(ms), routingKey: OBSERVE.delayQueue(ms) })),
        { source: "pragma.results", destination: OBSERVE.resultsQueue, routingKey: OBSERVE.resultRoutingKey("#") },
      ],
    };
  }
}

/** What a worker needs to observe `r`: what was applied, as stored (sealed values stay sealed). */
function observeWork(r: ResourceRecord, tick?: string): ObserveWork | null {
  if (!r.observationId || !r.appliedConfig) return null;
  return {
    observation_id: r.observationId,
    ...(tick !== undefined ? { tick } : {}),
    ...workTarget(r),
    config: r.appliedConfig,
    outputs: r.outputs,
  };
}
