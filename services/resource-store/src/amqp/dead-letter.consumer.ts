import { holdOnDatabaseOutage } from "@pragma/db";
import { z } from "zod";
import { sensitiveKeys } from "../domain/resources/sensitive-outputs";
import {
  EXCHANGES,
  QUEUES,
  RPC_QUEUES,
  RESULT_MESSAGE_CONTRACTS,
  resourceWork,
  WORK_HEADERS,
  workerRequests,
  type MessageContract,
} from "@pragma/contracts";
import type { Broker, ConsumerHandle, TopologySpec } from "@pragma/messaging";
import type { Logger } from "@pragma/logger";
import { ingestDeadLetter, type IngestDeps } from "../domain/dead-letters/ingest-dead-letter";
import type { TypeCatalog } from "../domain/dead-letters/ports";
import type { SensitiveFields } from "../domain/dead-letters/redact";

/**
 * The worker declares pragma.dead-letter with exactly these arguments; a declaration
 * with any other argument fails with PRECONDITION_FAILED, so nothing is added here.
 */
export const deadLetterTopology: TopologySpec = {
  exchanges: [],
  queues: [{ name: QUEUES.deadLetter, arguments: { "x-queue-type": "quorum" } }],
  bindings: [{ source: EXCHANGES.deadLetter, destination: QUEUES.deadLetter, routingKey: "#" }],
};

// Dead letters are exactly the messages that may fail their contract, so accept any
// body here and let the use case decide what it can attribute. Result messages land
// here when the store's results consumer rejected them; they carry no work to retry.
const anyWork: MessageContract<unknown> = { kind: "message", type: resourceWork.type, schema: z.unknown() };
const RESULT_TYPES = new Set<string>(RESULT_MESSAGE_CONTRACTS.map((c) => c.type));
const anyResults = [...RESULT_TYPES].map((type): MessageContract<unknown> => ({ kind: "message", type, schema: z.unknown() }));

/** onIngested: each dead letter's outcome (stored, duplicate, unattributable, result_dropped), for metrics. */
export async function consumeDeadLetters(
  broker: Broker,
  deps: IngestDeps & { logger: Logger; onIngested?: (outcome: string) => void },
  prefetch: number,
): Promise<ConsumerHandle> {
  return broker.consume<unknown>(
    QUEUES.deadLetter,
    [anyWork, ...anyResults],
    async (d) => {
      if (RESULT_TYPES.has(d.type)) {
        deps.logger.error({ type: d.type, messageId: d.messageId, headers: describeHeaders(d.headers) }, "dead-lettered worker result dropped: results are not retryable");
        deps.onIngested?.("result_dropped");
        return;
      }
      // During a database outage the dead letter is requeued after a pause, not in a busy loop.
      const outcome = await holdOnDatabaseOutage(() =>
        ingestDeadLetter(deps, {
          body: d.payload,
          headers: d.headers,
          messageId: d.messageId,
          correlationId: d.correlationId,
          publishedAt: d.publishedAt ?? null,
        }),
      );
      deps.onIngested?.(outcome.kind);
      if (outcome.kind === "unattributable") {
        deps.logger.error({ messageId: d.messageId, why: outcome.why, headers: describeHeaders(d.headers) }, "dead letter dropped: cannot be attributed to a tenant and resource");
      } else {
        deps.logger.info({ eventId: outcome.eventId, outcome: outcome.kind, resourceFailed: outcome.resourceFailed }, "dead letter stored");
      }
    },
    { prefetch },
  );
}

/** Header names and the broker's reasons only: values may hold error text with secrets. */
function describeHeaders(h: Record<string, unknown>): Record<string, unknown> {
  return { names: Object.keys(h), reason: h[WORK_HEADERS.deadLetterReason] ?? h["x-last-death-reason"] ?? h["x-first-death-reason"] };
}

/** Sensitive fields from the workers' type list, cached per provider (types change only on deploy). */
export function workerTypeCatalog(broker: Broker, opts: { timeoutMs: number; ttlMs: number }): TypeCatalog {
  const cache = new Map<string, { at: number; types: Map<string, SensitiveFields> }>();
  return {
    async sensitiveFields(provider, resourceType) {
      let hit = cache.get(provider);
      if (!hit || Date.now() - hit.at > opts.ttlMs) {
        const { types } = await broker.request(RPC_QUEUES.providerWorker, workerRequests.listTypes, { provider }, { timeoutMs: opts.timeoutMs });
        hit = { at: Date.now(), types: new Map(types.map((t) => [t.resource, { config: sensitiveKeys(t.schema), outputs: t.sensitive_outputs }])) };
        cache.set(provider, hit);
      }
      return hit.types.get(resourceType) ?? null;
    },
  };
}
