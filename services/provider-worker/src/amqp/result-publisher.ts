import { AsyncResource } from "node:async_hooks";
import { providerResults, providerResultsReported, type ResultKind } from "@pragma/contracts";
import { MessageTooLargeError, MessageValidationError, type Broker } from "@pragma/messaging";

/** At most this many results in one message; more finished in one turn go as several. */
export const RESULTS_PER_MESSAGE = 64;
/**
 * And at most this many bytes (outputs can be large: a batch of big ones must not become
 * one huge quorum-queue entry). A batch that serialises larger is split in two and each
 * half tried again (the broker refuses it before sending: MessageTooLargeError); a lone
 * result is never refused for its size.
 */
export const RESULT_BYTES_PER_MESSAGE = 256 * 1024;

export interface ResultToPublish {
  kind: ResultKind;
  payload: Record<string, unknown>;
  /** The result's own message id (`<event_id>:<kind>`). */
  messageId: string;
  correlationId: string | undefined;
  /** Headers the result carries as a message of its own (tenant ids, resource id). */
  headers: Record<string, string>;
}

interface Queued extends ResultToPublish {
  resolve(): void;
  reject(err: unknown): void;
}

/** Runs `fn` outside any request context: a batch belongs to no single request. */
const outsideContext = AsyncResource.bind((fn: () => void) => fn());

/**
 * Publishes worker results, each resolving once the broker confirmed it. Results handed
 * over in the same turn of the event loop (events whose Redis replies came back in one
 * read finish together) travel as one `provider.event.reported.v1` message; a lone one
 * goes as the plain result message it always was.
 *
 * Why: every message costs the broker (a quorum-queue entry, a confirm, a delivery, an
 * ack), the worker and the store a fixed amount whatever it carries, and at saturation a
 * worker finishes about 3.5 results per turn (counted on the lifecycle bench, one worker,
 * prefetch 8; more at the default 32). Nothing waits longer than the current turn.
 *
 * A batch the contract refuses (a result that fails its schema) is not allowed to take
 * the others down with it: each of its results is then published alone, so only the bad
 * one fails, as it would have on its own. Any other failure (connection lost, nack)
 * fails every result of the batch, and each event is requeued as before.
 */
export function resultPublisher(broker: Broker, perMessage = RESULTS_PER_MESSAGE, bytesPerMessage = RESULT_BYTES_PER_MESSAGE) {
  let queue: Queued[] = [];

  const alone = (r: Queued) => {
    const contract = providerResults[r.kind];
    broker
      .publish(contract as typeof providerResults.succeeded, r.payload as never, {
        messageId: r.messageId,
        correlationId: r.correlationId,
        headers: r.headers,
      })
      .then(r.resolve, r.reject);
  };

  const together = (batch: Queued[]) => {
    const results = batch.map((r) => ({
      type: providerResults[r.kind].type,
      message_id: r.messageId,
      ...(r.correlationId === undefined ? {} : { correlation_id: r.correlationId }),
      data: r.payload,
    }));
    // The size check comes before anything is sent. The halves of a split batch can go
    // out after other results of the same turn, which the store does not mind: results of
    // different events may arrive in any order (the lease is released before the
    // publish), and a started that arrives after its outcome is stale.
    broker
      .publish(providerResultsReported, { results } as never, { maxBytes: bytesPerMessage })
      .then(
        () => batch.forEach((r) => r.resolve()),
        (err: unknown) => {
          if (err instanceof MessageTooLargeError) {
            const half = Math.ceil(batch.length / 2);
            send(batch.slice(0, half));
            send(batch.slice(half));
          } else if (err instanceof MessageValidationError) batch.forEach(alone);
          else batch.forEach((r) => r.reject(err));
        },
      );
  };

  const send = (chunk: Queued[]) => {
    if (chunk.length === 1) alone(chunk[0]!);
    else if (chunk.length > 1) together(chunk);
  };

  const flush = () => {
    const all = queue;
    queue = [];
    for (let i = 0; i < all.length; i += perMessage) send(all.slice(i, i + perMessage));
  };

  return function publishResult(result: ResultToPublish): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (queue.push({ ...result, resolve, reject }) === 1) outsideContext(() => setImmediate(flush));
    });
  };
}
