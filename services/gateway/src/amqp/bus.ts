import type { Bus, RpcBroker } from "../domain/ports";
import { currentContext } from "@pragma/logger";

/** Every call carries the request id as correlationId (explicitly, not only via async context) and the gateway's timeout. */
export function createBus(broker: RpcBroker, defaultTimeoutMs: number): Bus {
  return {
    call(queue, contract, payload, options = {}) {
      const ctx = currentContext();
      return broker.request(queue, contract, payload, {
        timeoutMs: options.timeoutMs ?? defaultTimeoutMs,
        ...(ctx ? { correlationId: ctx.requestId } : {}),
        ...(options.headers ? { headers: options.headers } : {}),
      });
    },
    isConnected: () => broker.isConnected(),
  };
}
