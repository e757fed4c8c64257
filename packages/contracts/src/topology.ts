/**
 * Names of every exchange and queue. The code declares them at start-up
 * (idempotently); infra/rabbitmq/definitions.json is exported from the same data.
 */
export const EXCHANGES = {
  /** Domain events, topic exchange, routing key = message type. */
  events: "pragma.events",
  /** Work for provider workers; routing key = provider name. */
  work: "pragma.work",
  /** Results from workers back to the resource store; routing key = message type. */
  results: "pragma.results",
  /** Where work queues dead-letter to. */
  deadLetter: "pragma.dlx",
  /** Delay tiers for retries with backoff. */
  retry: "pragma.retry",
} as const;

export const RPC_QUEUES = {
  registry: "rpc.registry",
  resourceStore: "rpc.resource-store",
  providerWorker: "rpc.provider-worker",
} as const;

export const QUEUES = {
  results: "resource-store.results",
  deadLetter: "pragma.dead-letter",
  workFor: (provider: string) => `work.${provider}`,
  retryTier: (ms: number) => `pragma.retry.${ms}ms`,
} as const;

/** Delivery limit on work queues: a poison message is dead-lettered after this many deliveries. */
export const WORK_DELIVERY_LIMIT = 5;

/**
 * The type of every shared exchange. Every service that declares one of these must
 * use exactly this type (a mismatch is a channel error), so take it from here.
 */
export const EXCHANGE_TYPES: Record<(typeof EXCHANGES)[keyof typeof EXCHANGES], "topic" | "direct" | "fanout"> = {
  "pragma.events": "topic",
  "pragma.work": "direct",
  "pragma.results": "topic",
  "pragma.dlx": "topic",
  "pragma.retry": "direct",
};

/** Arguments of quorum queues whose rejects must never be lost (work, results, dead letters). */
export const QUORUM_DLX_ARGS = {
  "x-queue-type": "quorum",
  "x-dead-letter-exchange": "pragma.dlx",
  "x-dead-letter-strategy": "at-least-once",
  "x-overflow": "reject-publish",
} as const;
