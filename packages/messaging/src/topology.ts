/**
 * Broker topology as data. Services declare it at start-up (and after every
 * reconnect, via addTopology(ch => declareTopology(ch, spec))), and infra exports the
 * same data as a RabbitMQ definitions file, so the two cannot drift apart.
 */
import type { TopologyChannel, TopologyFn } from "./api";

export type ExchangeType = "direct" | "topic" | "fanout" | "headers" | "x-consistent-hash" | (string & {});

export interface ExchangeSpec {
  name: string;
  type: ExchangeType;
  /** Default true. */
  durable?: boolean;
  arguments?: Record<string, unknown>;
}

export interface QueueSpec {
  name: string;
  /** e.g. {"x-queue-type": "quorum", "x-dead-letter-exchange": "..."} */
  arguments?: Record<string, unknown>;
  /** Default true. */
  durable?: boolean;
  /**
   * When the broker holds this queue declared differently (PRECONDITION_FAILED), delete it
   * and declare it as given. Only for queues whose messages may be dropped: the RPC
   * request queues, which became transient (see rpcQueueSpec) after being durable.
   */
  recreateIfMismatched?: boolean;
}

export interface BindingSpec {
  source: string;
  destination: string;
  /** Default "queue". */
  destinationType?: "queue" | "exchange";
  routingKey: string;
  arguments?: Record<string, unknown>;
}

export interface TopologySpec {
  exchanges: ExchangeSpec[];
  queues: QueueSpec[];
  bindings: BindingSpec[];
}

const isPreconditionFailed = (err: unknown) => (err as { code?: unknown } | null)?.code === 406;

/**
 * Declares everything in `spec`, exchanges first so bindings have both ends. Idempotent.
 * `reopen` (the broker's addTopology passes it) lets a queue marked recreateIfMismatched
 * replace an older, different declaration; without it such a mismatch throws as any other.
 */
export async function declareTopology(channel: TopologyChannel, spec: TopologySpec, reopen?: () => Promise<TopologyChannel>): Promise<void> {
  let ch = channel;
  for (const e of spec.exchanges) {
    await ch.assertExchange(e.name, e.type, { durable: e.durable ?? true, arguments: e.arguments ?? {} });
  }
  for (const q of spec.queues) {
    const options = { durable: q.durable ?? true, arguments: q.arguments ?? {} };
    try {
      await ch.assertQueue(q.name, options);
    } catch (err) {
      if (!q.recreateIfMismatched || !reopen || !isPreconditionFailed(err)) throw err;
      // The failed declaration closed the channel; requests still queued are dropped (their callers time out).
      ch = await reopen();
      await ch.deleteQueue(q.name);
      await ch.assertQueue(q.name, options);
    }
  }
  for (const b of spec.bindings) {
    if ((b.destinationType ?? "queue") === "queue") await ch.bindQueue(b.destination, b.source, b.routingKey, b.arguments ?? {});
    else await ch.bindExchange(b.destination, b.source, b.routingKey, b.arguments ?? {});
  }
}

/** The subset of RabbitMQ's definitions-file format that topology needs (import with `rabbitmqctl import_definitions` or the management UI). */
export interface RabbitDefinitions {
  exchanges: { name: string; vhost: string; type: string; durable: boolean; auto_delete: boolean; internal: boolean; arguments: Record<string, unknown> }[];
  queues: { name: string; vhost: string; durable: boolean; auto_delete: boolean; arguments: Record<string, unknown> }[];
  bindings: { source: string; vhost: string; destination: string; destination_type: "queue" | "exchange"; routing_key: string; arguments: Record<string, unknown> }[];
}

export function toDefinitions(spec: TopologySpec, vhost = "/"): RabbitDefinitions {
  return {
    exchanges: spec.exchanges.map((e) => ({
      name: e.name,
      vhost,
      type: e.type,
      durable: e.durable ?? true,
      auto_delete: false,
      internal: false,
      arguments: { ...(e.arguments ?? {}) },
    })),
    queues: spec.queues.map((q) => ({ name: q.name, vhost, durable: q.durable ?? true, auto_delete: false, arguments: { ...(q.arguments ?? {}) } })),
    bindings: spec.bindings.map((b) => ({
      source: b.source,
      vhost,
      destination: b.destination,
      destination_type: b.destinationType ?? "queue",
      routing_key: b.routingKey,
      arguments: { ...(b.arguments ?? {}) },
    })),
  };
}

/** Default time a request may wait in an RPC queue: a caller has long given up by then. */
export const RPC_REQUEST_TTL_MS = 60_000;

/**
 * Topology for an RPC server queue: a transient classic queue whose messages expire,
 * so requests that piled up while a service was down are not answered minutes late
 * to callers that timed out. Classic, not quorum: requests are transient by nature, and
 * a Raft round per request would cost latency.
 *
 * Transient (durable: false), because of clusters: a classic queue lives on one node. A
 * durable one whose node is down cannot be consumed or even declared ("home node ... is
 * down or inaccessible") until that node returns, so every replica of the service, and
 * every caller, would wait for it. A transient one is deleted with its node, and the
 * service's replicas declare it again on a surviving node when they reconnect or their
 * consumer is cancelled (bench/src/cluster.ts stops a node under load to show it). A
 * broker that still holds the older durable declaration gets it replaced, once.
 */
export function rpcQueueTopology(queue: string, ttlMs = RPC_REQUEST_TTL_MS): TopologyFn {
  const spec = rpcQueueSpec(queue, ttlMs);
  return (channel, reopen) => declareTopology(channel, spec, reopen);
}

/** rpcQueueTopology's queue as data (services merge it into their topology; infra exports it). */
export function rpcQueueSpec(queue: string, ttlMs = RPC_REQUEST_TTL_MS): TopologySpec {
  return { exchanges: [], queues: [{ name: queue, durable: false, recreateIfMismatched: true, arguments: { "x-queue-type": "classic", "x-message-ttl": ttlMs } }], bindings: [] };
}

const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))) : x,
  );

/**
 * The union of several services' topologies (the whole system's, for the definitions
 * file). The same exchange or queue declared by two services must be declared the same
 * way: RabbitMQ refuses the second declaration otherwise (PRECONDITION_FAILED), so a
 * difference throws here, naming it, instead of at some service's start-up.
 */
export function mergeTopologies(...specs: TopologySpec[]): TopologySpec {
  const exchanges = new Map<string, ExchangeSpec>();
  const queues = new Map<string, QueueSpec>();
  const bindings = new Map<string, BindingSpec>();
  const add = <T extends { name: string }>(kind: string, map: Map<string, T>, item: T, norm: (x: T) => unknown) => {
    const seen = map.get(item.name);
    if (!seen) map.set(item.name, item);
    else if (canonical(norm(seen)) !== canonical(norm(item))) {
      throw new Error(`${kind} ${item.name} is declared two ways: ${canonical(norm(seen))} and ${canonical(norm(item))}`);
    }
  };
  for (const spec of specs) {
    for (const e of spec.exchanges) add("exchange", exchanges, e, (x) => ({ type: x.type, durable: x.durable ?? true, arguments: x.arguments ?? {} }));
    for (const q of spec.queues) add("queue", queues, q, (x) => ({ durable: x.durable ?? true, arguments: x.arguments ?? {} }));
    for (const b of spec.bindings) {
      const norm = { ...b, destinationType: b.destinationType ?? "queue", arguments: b.arguments ?? {} };
      bindings.set(canonical(norm), b);
    }
  }
  return { exchanges: [...exchanges.values()], queues: [...queues.values()], bindings: [...bindings.values()] };
}
