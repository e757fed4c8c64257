import { EXCHANGES, HEADERS, QUEUES, resourceWork, workRoutingKey, type ResourceWork, type ResultKind } from "@pragma/contracts";
import type { Broker, ConsumerHandle } from "@pragma/messaging";
import type { WorkInput, WorkPublisher } from "../domain/ports";
import { resultPublisher } from "./result-publisher";
import { deadLetterHeaders, readCopy, retryHeaders, waitHeaders } from "./work-headers";

/** The broker side of processEvent: every publish is confirmed before it resolves. */
export function brokerPublishers(broker: Broker, routingKeyOf: (provider: string) => string = workRoutingKey): WorkPublisher {
  const publish = resultPublisher(broker);
  const toDelayTier = (input: WorkInput, headers: Record<string, unknown>, delayMs: number) =>
    broker.publish(resourceWork, input.work, {
      exchange: EXCHANGES.retry,
      routingKey: QUEUES.retryTier(delayMs),
      messageId: input.work.event_id,
      correlationId: input.correlationId,
      // Dead-lettering from the delay queue keeps CC routing keys, so the expired
      // message re-enters pragma.work under its provider's key.
      headers: { ...headers, CC: [routingKeyOf(input.work.provider)] },
    });
  return {
    publishResult(kind: ResultKind, payload: Record<string, unknown>, input: WorkInput): Promise<void> {
      return publish({
        kind,
        payload,
        // One id per (event, kind), the same on every redelivery of the event.
        messageId: `${input.work.event_id}:${kind}`,
        correlationId: input.correlationId,
        headers: tenantHeaders(input.work),
      });
    },
    publishWait(input, delayMs) {
      return toDelayTier(input, waitHeaders(input), delayMs);
    },
    publishRetry(input, retryCount, history, delayMs) {
      return toDelayTier(input, retryHeaders(input, retryCount, history), delayMs);
    },
    publishDeadLetter(input, facts) {
      return broker.publish(resourceWork, input.work, {
        exchange: EXCHANGES.deadLetter,
        routingKey: input.work.provider,
        messageId: input.work.event_id,
        correlationId: input.correlationId,
        headers: deadLetterHeaders(input, facts),
      });
    },
  };
}

function tenantHeaders(w: ResourceWork): Record<string, string> {
  return { [HEADERS.orgId]: w.org_id, [HEADERS.projectId]: w.project_id, [HEADERS.spaceId]: w.space_id, [HEADERS.resourceId]: w.resource_id };
}

export async function consumeWork(
  broker: Broker,
  /** QUEUES.workFor(<built-in provider>) or PROVIDER_QUEUES.pushedWork. */
  queue: string,
  prefetch: number,
  handle: (input: WorkInput) => Promise<void>,
): Promise<ConsumerHandle> {
  return broker.consume<ResourceWork>(
    queue,
    resourceWork,
    async (d) => {
      // Thrown errors requeue (the messaging default): only infrastructure failures get here.
      await handle({ work: d.payload, headers: d.headers, copy: readCopy(d.headers, d.deliveryCount), correlationId: d.correlationId });
    },
    { prefetch },
  );
}
