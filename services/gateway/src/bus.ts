import type { RequestContract } from "@pragma/contracts";
import { currentContext } from "@pragma/logger";

/** The slice of @pragma/messaging's Broker the gateway uses; lets routes be typed without the broker. */
export interface RpcBroker {
  request<Q, R>(
    queue: string,
    contract: RequestContract<Q, R>,
    payload: Q,
    options?: { timeoutMs?: number; correlationId?: string; headers?: Record<string, unknown> },
  ): Promise<R>;
  isConnected(): boolean;
}

export interface Bus {
  call<Q, R>(queue: string, contract: RequestContract<Q, R>, payload: Q, options?: { timeoutMs?: number; headers?: Record<string, unknown> }): Promise<R>;
  isConnected(): boolean;
}

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
