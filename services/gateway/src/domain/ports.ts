import type { RequestContract } from "@pragma/contracts";

/** What the gateway's domain needs of the bus (implemented by ../amqp/bus.ts). */
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

/** What readiness needs of Redis. */
export interface Pingable {
  ping(): Promise<string>;
}
