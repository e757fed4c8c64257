import { deadLetterRequests } from "@pragma/contracts";
import { handler, handlerTable, type RpcHandlers } from "@pragma/messaging";
import { deleteDeadLetter, deleteDeadLetters, getDeadLetter, listDeadLetters, retryAllDeadLetters } from "../domain/dead-letters/manage-dead-letters";
import { retryDeadLetter, type RetryDeps } from "../domain/dead-letters/retry-dead-letter";
import { requestKeyOf } from "../domain/resources/repeated-requests";

/** Thin: contract in, use case, wire shape out. Scope comes from the gateway, already checked against the registry. */
export function deadLetterHandlers(deps: RetryDeps): RpcHandlers {
  return handlerTable(
    handler(deadLetterRequests.list, ({ scope, provider, reason, resource_type }) =>
      listDeadLetters(deps, scope, { provider, reason, resourceType: resource_type }),
    ),
    handler(deadLetterRequests.get, ({ scope, event_id }) => getDeadLetter(deps, scope, event_id)),
    // A repeated retry (same request id) gets the event it queued (repeated-requests.ts). Retry-all
    // and the deletes keep no record: a repeat never runs an entry twice (a retried or deleted
    // entry is gone), it only answers another count.
    handler(deadLetterRequests.retry, ({ scope, event_id }, ctx) =>
      retryDeadLetter(deps, scope, event_id, requestKeyOf(deadLetterRequests.retry.type, { scope, event_id }, ctx)),
    ),
    handler(deadLetterRequests.retryAll, async ({ scope, provider }) => ({
      retried_count: await retryAllDeadLetters(deps, scope, { provider }),
    })),
    handler(deadLetterRequests.delete, async ({ scope, event_id }) => ({
      deleted_count: await deleteDeadLetter(deps, scope, event_id),
    })),
    handler(deadLetterRequests.deleteMany, async ({ scope, all, provider }) => ({
      deleted_count: await deleteDeadLetters(deps, scope, { all, provider }),
    })),
  );
}
