import { EXCHANGES, EXCHANGE_TYPES, type MessageContract } from "@pragma/contracts";
import type { Broker, ConsumerHandle } from "./api";

export interface NotificationSubscription<T> {
  /** This process's own queue name (exclusive: it lives and dies with the connection). */
  queue: string;
  contract: MessageContract<T>;
  /**
   * Runs on every new connection, before the queue is declared: notifications sent while
   * the connection was down are lost, so whatever they keep fresh must be forgotten here.
   */
  onConnect: () => void;
  handle: (payload: T) => void | Promise<void>;
  prefetch?: number;
}

/**
 * Notifications on `pragma.events` that keep a process's in-memory copy fresh (the
 * gateway's resource cache, a worker's credentials cache), on a queue of this process's
 * own, bound to the contract's type. Bounded: a process that stops reading (a blocked
 * event loop) loses the oldest notifications, not the broker's memory; what it keeps
 * still expires by its own TTL. The topology runs again on every new connection.
 */
export async function subscribeToNotifications<T>(broker: Broker, sub: NotificationSubscription<T>): Promise<ConsumerHandle> {
  await broker.addTopology(async (ch) => {
    sub.onConnect();
    await ch.assertExchange(EXCHANGES.events, EXCHANGE_TYPES[EXCHANGES.events], { durable: true });
    await ch.assertQueue(sub.queue, { exclusive: true, autoDelete: true, durable: false, arguments: { "x-queue-type": "classic", "x-max-length": 10_000, "x-overflow": "drop-head" } });
    await ch.bindQueue(sub.queue, EXCHANGES.events, sub.contract.type);
  });
  return broker.consume(
    sub.queue,
    sub.contract,
    async ({ payload }) => {
      await sub.handle(payload);
    },
    { prefetch: sub.prefetch ?? 200 },
  );
}
