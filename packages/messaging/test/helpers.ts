import * as amqp from "amqplib";
import { z } from "zod";
import { defineMessage, defineRequest } from "@pragma/contracts";
import { createLogger } from "@pragma/logger";
import { captureLogs, type CapturedLogs } from "@pragma/testing";
import { connectBroker, type Broker, type BrokerOptions } from "../src";

export const thingCreated = defineMessage("test.thing.created.v1", z.object({ id: z.string(), n: z.number().int() }));
export const thingDeleted = defineMessage("test.thing.deleted.v1", z.object({ id: z.string() }));
export const echo = defineRequest("test.echo.run.v1", z.object({ text: z.string() }), z.object({ text: z.string(), correlationId: z.string().optional() }));
export const slow = defineRequest("test.slow.run.v1", z.object({ ms: z.number() }), z.object({ done: z.boolean() }));
export const fails = defineRequest("test.fail.run.v1", z.object({ kind: z.enum(["app", "crash"]) }), z.object({}));

export const EXCHANGE = "test.events";

export interface TestBroker {
  broker: Broker;
  logs: CapturedLogs;
}

/** A broker with fast reconnects whose logs (debug and up) are captured for assertions. */
export async function startBroker(amqpUrl: string, overrides: Partial<BrokerOptions> = {}): Promise<TestBroker> {
  const logs = captureLogs();
  const logger = createLogger({ service: "messaging-test", version: "9.9.9", level: "debug", destination: logs.destination });
  const broker = await connectBroker({
    url: amqpUrl,
    logger,
    connectionName: "messaging-test",
    reconnect: { initialDelayMs: 50, maxDelayMs: 300 },
    ...overrides,
  });
  return { broker, logs };
}

/** A plain amqplib connection for arranging and inspecting queues from the outside. */
export async function admin(amqpUrl: string): Promise<{ conn: amqp.ChannelModel; ch: amqp.Channel; close(): Promise<void> }> {
  const conn = await amqp.connect(amqpUrl);
  conn.on("error", () => undefined);
  const ch = await conn.createChannel();
  ch.on("error", () => undefined);
  return { conn, ch, close: () => conn.close().catch(() => undefined) };
}

/** Declares `queue` bound to the test exchange with routing key = queue, dead-lettering into `${queue}.dlq`. */
export async function queueWithDlq(ch: amqp.Channel, queue: string, args: Record<string, unknown> = {}): Promise<string> {
  await ch.assertExchange(EXCHANGE, "topic", { durable: true });
  const dlq = `${queue}.dlq`;
  await ch.assertQueue(dlq, { durable: true });
  await ch.assertQueue(queue, { durable: true, arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dlq, ...args } });
  await ch.bindQueue(queue, EXCHANGE, queue);
  return dlq;
}

export async function messageCount(ch: amqp.Channel, queue: string): Promise<number> {
  return (await ch.checkQueue(queue)).messageCount;
}

/** Drains up to `max` messages from a queue with basic.get (acking them). */
export async function drain(ch: amqp.Channel, queue: string, max = 100_000): Promise<amqp.GetMessage[]> {
  const out: amqp.GetMessage[] = [];
  while (out.length < max) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) break;
    out.push(m);
  }
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function deferred<T = void>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
