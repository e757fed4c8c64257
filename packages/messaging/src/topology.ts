/**
 * Broker topology as data. Services declare it at start-up (and after every
 * reconnect, via addTopology(ch => declareTopology(ch, spec))), and infra exports the
 * same data as a RabbitMQ definitions file, so the two cannot drift apart.
 */
import type { Channel } from "amqplib";

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

/** Declares everything in `spec`, exchanges first so bindings have both ends. Idempotent. */
export async function declareTopology(channel: Channel, spec: TopologySpec): Promise<void> {
  for (const e of spec.exchanges) {
    await channel.assertExchange(e.name, e.type, { durable: e.durable ?? true, arguments: e.arguments ?? {} });
  }
  for (const q of spec.queues) {
    await channel.assertQueue(q.name, { durable: q.durable ?? true, arguments: q.arguments ?? {} });
  }
  for (const b of spec.bindings) {
    if ((b.destinationType ?? "queue") === "queue") await channel.bindQueue(b.destination, b.source, b.routingKey, b.arguments ?? {});
    else await channel.bindExchange(b.destination, b.source, b.routingKey, b.arguments ?? {});
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
 * Topology for an RPC server queue: a durable classic queue whose messages expire,
 * so requests that piled up while a service was down are not answered minutes late
 * to callers that timed out. Classic, not quorum: requests are transient by nature.
 */
export function rpcQueueTopology(queue: string, ttlMs = RPC_REQUEST_TTL_MS): (channel: Channel) => Promise<void> {
  return async (channel) => {
    await channel.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "classic", "x-message-ttl": ttlMs } });
  };
}
