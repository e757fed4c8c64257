/**
 * The Broker on amqplib: the parts, each in its own module, put together.
 *
 * - connection.ts: the connection and its recovery loop, topology, channel bookkeeping;
 * - publisher.ts: confirmed publishes within a window;
 * - consumers.ts: consumer channels, re-attaching, settling acks and nacks;
 * - deliveries.ts: what consume() does with one delivery (contract, handler, disposition);
 * - rpc-server.ts / rpc-client.ts: the two ends of request/reply (batching: rpc-batch.ts).
 *
 * On every fresh connection the topology runs first, then the publish and reply channels
 * open, then consumers are re-attached. close() stops consumers first (handlers may still
 * publish), then waits for outstanding confirms, then fails waiting requests and closes.
 */
import type { Logger } from "@pragma/logger";
import type { MessageContract, RequestContract } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type {
  Broker,
  BrokerOptions,
  ConsumeOptions,
  ConsumerHandle,
  Handler,
  HealthCheck,
  PublishOptions,
  QueueDepth,
  RpcHandlers,
  RpcServerHandle,
  TopologyFn,
} from "./api";
import { Connection, type Live } from "./connection";
import { Consumers } from "./consumers";
import { deliveryProcessor } from "./deliveries";
import { ConfirmPublisher } from "./publisher";
import { RpcClient, type RequestOptions } from "./rpc-client";
import { RpcServer } from "./rpc-server";

export async function connectBroker(options: BrokerOptions): Promise<Broker> {
  const broker = new AmqpBroker(options);
  await broker.start();
  return broker;
}

class AmqpBroker implements Broker {
  private readonly log: Logger;
  private readonly conn: Connection;
  private readonly publisher: ConfirmPublisher;
  private readonly consumers: Consumers;
  private readonly rpcServer: RpcServer;
  private readonly rpcClient: RpcClient;
  private closePromise: Promise<void> | null = null;

  constructor(options: BrokerOptions) {
    this.log = options.logger.child({ component: "messaging", connection: options.connectionName });
    const bound = (options.logger.bindings?.() ?? {}) as { version?: unknown };
    const version = options.version ?? (typeof bound.version === "string" ? bound.version : "0.0.0");
    this.conn = new Connection(options, this.log);
    this.publisher = new ConfirmPublisher(this.conn);
    this.consumers = new Consumers(this.conn);
    this.rpcServer = new RpcServer(this.conn, version);
    this.rpcClient = new RpcClient(this.conn);
  }

  start(): Promise<void> {
    return this.conn.open({
      opening: async (live: Live) => {
        await Promise.all([this.publisher.open(live), this.rpcClient.open(live)]);
      },
      opened: async (live: Live) => {
        if (this.conn.reconnected) this.log.info({ consumers: this.consumers.size }, "broker reconnected; re-attaching consumers");
        await this.consumers.attachAll(live);
      },
      // Direct reply-to replies can only arrive on the channel that sent the request.
      lost: () => this.rpcClient.failAll(new AppError("UNAVAILABLE", "connection to the broker lost before the reply")),
    });
  }

  isConnected(): boolean {
    return this.conn.live !== null && !this.conn.closed;
  }

  inFlightPublishes(): number {
    return this.publisher.unconfirmed();
  }

  addTopology(fn: TopologyFn): Promise<void> {
    return this.conn.addTopology(fn);
  }

  publish<T>(contract: MessageContract<T>, payload: T, options?: PublishOptions): Promise<void> {
    return this.publisher.publish(contract, payload, options);
  }

  consume<T>(queue: string, contracts: MessageContract<T> | MessageContract<T>[], handle: Handler<T>, options: ConsumeOptions): Promise<ConsumerHandle> {
    return this.consumers.add(queue, `consumer ${queue}`, options.prefetch, options.consumeOptions ?? {}, deliveryProcessor(this.log, queue, contracts, handle));
  }

  serve(queue: string, handlers: RpcHandlers, options?: { prefetch?: number; health?: HealthCheck }): Promise<RpcServerHandle> {
    return this.consumers.add(queue, `rpc ${queue}`, options?.prefetch ?? 16, {}, this.rpcServer.processor(queue, handlers, options?.health));
  }

  request<Q, R>(queue: string, contract: RequestContract<Q, R>, payload: Q, options?: RequestOptions): Promise<R> {
    return this.rpcClient.request(queue, contract, payload, options);
  }

  queueDepths(queues: string[]): Promise<QueueDepth[]> {
    return this.conn.queueDepths(queues);
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.conn.closing = true;
    // Handlers may still publish results, so publishing stays open until they are done.
    await this.consumers.cancelAll(Date.now() + this.conn.closeTimeoutMs);
    this.conn.closed = true;
    await this.publisher.waitUntilConfirmed(Date.now() + this.conn.closeTimeoutMs);
    this.rpcClient.failAll(new AppError("UNAVAILABLE", "broker closed before the reply"));
    const live = this.conn.live;
    this.conn.live = null;
    if (live) {
      await this.publisher.closeChannel(live);
      await this.rpcClient.closeChannel(live);
    }
    await this.conn.close();
  }
}
