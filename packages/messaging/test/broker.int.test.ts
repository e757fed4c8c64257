import type * as amqp from "amqplib";
import { AppError } from "@pragma/errors";
import { runWithContext } from "@pragma/logger";
import { createVhost, waitFor, type TestVhost } from "@pragma/testing";
import { defineMessage, defineRawRequest, ping } from "@pragma/contracts";
import { z } from "zod";
import { ConnectionLostError, MessageValidationError, UnroutableError, handler, rpcQueueTopology, type Broker, type Delivery } from "../src";
import { EXCHANGE, admin, deferred, drain, echo, fails, messageCount, queueWithDlq, sleep, slow, startBroker, thingCreated, thingDeleted } from "./helpers";

jest.setTimeout(30_000);

let vh: TestVhost;
let broker: Broker;
let adm: Awaited<ReturnType<typeof admin>>;

beforeAll(async () => {
  vh = await createVhost("messaging-broker");
  adm = await admin(vh.amqpUrl);
  ({ broker } = await startBroker(vh.amqpUrl));
  await broker.addTopology(async (ch) => {
    await ch.assertExchange(EXCHANGE, "topic", { durable: true });
  });
});

afterAll(async () => {
  await broker?.close();
  await adm?.close();
  await vh?.dispose();
});

describe("publish", () => {
  it("resolves once confirmed, with the message properties set", async () => {
    await queueWithDlq(adm.ch, "q.publish");
    await runWithContext({ requestId: "req_abc", orgId: "org1" }, () =>
      broker.publish(thingCreated, { id: "t1", n: 1 }, { exchange: EXCHANGE, routingKey: "q.publish", headers: { "x-extra": "1" } }),
    );
    const [m] = await drain(adm.ch, "q.publish");
    expect(m).toBeDefined();
    expect(JSON.parse(m!.content.toString())).toEqual({ id: "t1", n: 1 });
    const p = m!.properties;
    expect(p.messageId).toMatch(/^msg_[0-9A-Z]{26}$/);
    expect(p.correlationId).toBe("req_abc");
    expect(p.type).toBe("test.thing.created.v1");
    expect(p.contentType).toBe("application/json");
    expect(p.deliveryMode).toBe(2);
    expect(Math.abs(p.timestamp - Date.now() / 1000)).toBeLessThan(60);
    expect(p.headers).toMatchObject({ "x-extra": "1", "x-org-id": "org1" });
    expect(broker.inFlightPublishes()).toBe(0);
  });

  it("publishes to the contract's route when the call names only the contract", async () => {
    // Routed by the payload, as work is by its provider.
    const routed = defineMessage("test.thing.routed.v1", z.object({ to: z.string() }), { exchange: EXCHANGE, routingKey: (m) => `q.routed-${m.to}` });
    await queueWithDlq(adm.ch, "q.routed-a");
    await broker.publish(routed, { to: "a" });
    const [m] = await drain(adm.ch, "q.routed-a");
    expect(JSON.parse(m!.content.toString())).toEqual({ to: "a" });
    expect([m!.fields.exchange, m!.fields.routingKey, m!.properties.type]).toEqual([EXCHANGE, "q.routed-a", "test.thing.routed.v1"]);
    // Named exchange and key win (a re-publish to a retry or dead-letter exchange).
    await queueWithDlq(adm.ch, "q.routed-elsewhere");
    await broker.publish(routed, { to: "a" }, { exchange: EXCHANGE, routingKey: "q.routed-elsewhere" });
    expect(await messageCount(adm.ch, "q.routed-elsewhere")).toBe(1);
    expect(await messageCount(adm.ch, "q.routed-a")).toBe(0);
  });

  it("refuses a contract without a route when the call names none, sending nothing", async () => {
    const err = await broker.publish(thingCreated, { id: "t0", n: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain("test.thing.created.v1 has no route");
    expect(broker.inFlightPublishes()).toBe(0);
  });

  it("rejects with UnroutableError when no queue is bound (mandatory + basic.return)", async () => {
    const err = await broker.publish(thingCreated, { id: "t2", n: 2 }, { exchange: EXCHANGE, routingKey: "nobody.listens", messageId: "msg_unroutable" }).catch((e) => e);
    expect(err).toBeInstanceOf(UnroutableError);
    expect((err as UnroutableError).messageId).toBe("msg_unroutable");
    expect((err as UnroutableError).replyCode).toBe(312);
    // The channel survives a return.
    await queueWithDlq(adm.ch, "q.after-return");
    await broker.publish(thingCreated, { id: "t3", n: 3 }, { exchange: EXCHANGE, routingKey: "q.after-return" });
    expect(await messageCount(adm.ch, "q.after-return")).toBe(1);
  });

  it("mandatory: false (broadcast events) confirms a message that no queue takes", async () => {
    await expect(broker.publish(thingCreated, { id: "t2b", n: 2 }, { exchange: EXCHANGE, routingKey: "nobody.listens", mandatory: false })).resolves.toBeUndefined();
    expect(broker.inFlightPublishes()).toBe(0);
  });

  it("rejects an invalid payload with MessageValidationError before sending anything", async () => {
    await queueWithDlq(adm.ch, "q.invalid");
    const err = await broker.publish(thingCreated, { id: "t4", n: "not a number" } as never, { exchange: EXCHANGE, routingKey: "q.invalid" }).catch((e) => e);
    expect(err).toBeInstanceOf(MessageValidationError);
    expect((err as MessageValidationError).issues[0]?.loc).toEqual(["n"]);
    await sleep(100);
    expect(await messageCount(adm.ch, "q.invalid")).toBe(0);
    expect(broker.inFlightPublishes()).toBe(0);
  });

  it("keeps at most publishWindow publishes unconfirmed and confirms them all", async () => {
    const { broker: small } = await startBroker(vh.amqpUrl, { publishWindow: 10, connectionName: "window-test" });
    try {
      await queueWithDlq(adm.ch, "q.window");
      let max = 0;
      const sample = () => (max = Math.max(max, small.inFlightPublishes()));
      const timer = setInterval(sample, 1);
      const all = Array.from({ length: 1000 }, (_, i) =>
        small.publish(thingCreated, { id: `w${i}`, n: i }, { exchange: EXCHANGE, routingKey: "q.window" }).then(sample),
      );
      sample();
      await Promise.all(all);
      clearInterval(timer);
      expect(max).toBeGreaterThan(1);
      expect(max).toBeLessThanOrEqual(10);
      expect(small.inFlightPublishes()).toBe(0);
      await waitFor(async () => (await messageCount(adm.ch, "q.window")) === 1000, { message: "1000 messages queued" });
    } finally {
      await small.close();
    }
  });

  it("rejects after close()", async () => {
    const { broker: b } = await startBroker(vh.amqpUrl, { connectionName: "closed-test" });
    await b.close();
    expect(b.isConnected()).toBe(false);
    await expect(b.publish(thingCreated, { id: "x", n: 1 }, { exchange: EXCHANGE, routingKey: "q.publish" })).rejects.toBeInstanceOf(ConnectionLostError);
  });
});

describe("consume", () => {
  it("dead-letters unknown types, non-JSON and invalid bodies without calling the handler", async () => {
    const dlq = await queueWithDlq(adm.ch, "q.validate");
    const seen: string[] = [];
    const handle = await broker.consume("q.validate", [thingCreated, thingDeleted], async (d) => void seen.push(d.messageId), { prefetch: 10 });
    const pub = (type: string, body: string, messageId: string) =>
      adm.ch.publish(EXCHANGE, "q.validate", Buffer.from(body), { type, messageId, contentType: "application/json" });
    pub("test.unknown.thing.v1", JSON.stringify({ id: "a" }), "m-unknown");
    pub("test.thing.created.v1", "{not json", "m-notjson");
    pub("test.thing.created.v1", JSON.stringify({ id: "a", n: "x" }), "m-invalid");
    pub("test.thing.deleted.v1", JSON.stringify({ id: "ok" }), "m-ok");
    await waitFor(async () => (await messageCount(adm.ch, dlq)) === 3, { message: "3 dead letters" });
    await waitFor(async () => seen.length === 1);
    expect(seen).toEqual(["m-ok"]);
    const dead = (await drain(adm.ch, dlq)).map((m) => m.properties.messageId).sort();
    expect(dead).toEqual(["m-invalid", "m-notjson", "m-unknown"]);
    await handle.cancel();
  });

  it("dead-letters on a permanent error and on a dead-letter disposition, requeues on other throws", async () => {
    const dlq = await queueWithDlq(adm.ch, "q.errors");
    const calls: { id: string; redelivered: boolean; requestId?: string }[] = [];
    const handle = await broker.consume(
      "q.errors",
      thingCreated,
      async (d: Delivery<{ id: string; n: number }>) => {
        calls.push({ id: d.payload.id, redelivered: d.redelivered });
        if (d.payload.id === "permanent") throw Object.assign(new Error("bad config"), { permanent: true });
        if (d.payload.id === "disposition") return { action: "dead-letter", reason: "nope" };
        if (d.payload.id === "transient" && !d.redelivered) throw new Error("try again");
        return undefined;
      },
      { prefetch: 5 },
    );
    for (const id of ["permanent", "disposition", "transient"]) {
      await broker.publish(thingCreated, { id, n: 0 }, { exchange: EXCHANGE, routingKey: "q.errors", messageId: `m-${id}` });
    }
    await waitFor(async () => calls.filter((c) => c.id === "transient").length === 2, { message: "transient redelivered" });
    await waitFor(async () => (await messageCount(adm.ch, dlq)) === 2, { message: "2 dead letters" });
    expect(calls.filter((c) => c.id === "transient").map((c) => c.redelivered)).toEqual([false, true]);
    expect(calls.filter((c) => c.id === "permanent")).toHaveLength(1);
    expect((await drain(adm.ch, dlq)).map((m) => m.properties.messageId).sort()).toEqual(["m-disposition", "m-permanent"]);
    await handle.cancel();
    expect(await messageCount(adm.ch, "q.errors")).toBe(0);
  });

  it("runs the handler in the message's request context", async () => {
    await queueWithDlq(adm.ch, "q.context");
    const got = deferred<{ correlationId?: string; deliveryCount: number; publishedAt: Date | undefined }>();
    const { currentContext } = await import("@pragma/logger");
    const handle = await broker.consume(
      "q.context",
      thingCreated,
      async (d) => got.resolve({ correlationId: currentContext()?.requestId, deliveryCount: d.deliveryCount, publishedAt: d.publishedAt }),
      { prefetch: 1 },
    );
    const before = Math.floor(Date.now() / 1000) * 1000;
    await broker.publish(thingCreated, { id: "c", n: 1 }, { exchange: EXCHANGE, routingKey: "q.context", correlationId: "req_ctx1" });
    const seen = await got.promise;
    expect(seen).toMatchObject({ correlationId: "req_ctx1", deliveryCount: 0 });
    // The AMQP timestamp publish() set, in whole seconds.
    expect(seen.publishedAt).toBeInstanceOf(Date);
    expect(seen.publishedAt!.getTime()).toBeGreaterThanOrEqual(before);
    await handle.cancel();
  });

  it("fails consume() at once when the queue does not exist", async () => {
    await expect(broker.consume("q.missing", thingCreated, async () => undefined, { prefetch: 1 })).rejects.toThrow(/NOT_FOUND|no queue/);
  });
});

describe("rpc", () => {
  beforeAll(async () => {
    await broker.addTopology(rpcQueueTopology("rpc.test"));
    await broker.serve("rpc.test", {
      [echo.type]: handler(echo, async (q, ctx) => ({ text: q.text.toUpperCase(), correlationId: ctx.correlationId })),
      [slow.type]: handler(slow, async (q) => {
        await sleep(q.ms);
        return { done: true };
      }),
      [fails.type]: handler(fails, async (q) => {
        if (q.kind === "app") throw new AppError("NOT_FOUND", "Thing not found: x");
        throw new Error("secret internals");
      }),
    });
  });

  it("round-trips a request with its correlation id", async () => {
    const res = await runWithContext({ requestId: "req_rpc1" }, () => broker.request("rpc.test", echo, { text: "hi" }));
    expect(res).toEqual({ text: "HI", correlationId: "req_rpc1" });
  });

  it("answers ping automatically", async () => {
    expect(await broker.request("rpc.test", ping, {})).toEqual({ service: "messaging-test", version: "9.9.9", ok: true });
  });

  it("maps an AppError to the same AppError and anything else to a generic INTERNAL", async () => {
    const app = await broker.request("rpc.test", fails, { kind: "app" }).catch((e) => e);
    expect(app).toBeInstanceOf(AppError);
    expect(app).toMatchObject({ code: "NOT_FOUND", detail: "Thing not found: x" });
    const crash = await broker.request("rpc.test", fails, { kind: "crash" }).catch((e) => e);
    expect(crash).toMatchObject({ code: "INTERNAL", detail: "Internal server error" });
  });

  it("rejects an invalid request before sending it", async () => {
    await expect(broker.request("rpc.test", echo, { text: 1 } as never)).rejects.toBeInstanceOf(MessageValidationError);
  });

  it("times out with TIMEOUT", async () => {
    const started = Date.now();
    const err = await broker.request("rpc.test", slow, { ms: 1500 }, { timeoutMs: 300 }).catch((e) => e);
    expect(err).toMatchObject({ code: "TIMEOUT" });
    expect(Date.now() - started).toBeLessThan(1200);
    // The late reply is ignored and the client keeps working.
    await sleep(1300);
    expect(await broker.request("rpc.test", echo, { text: "after" })).toMatchObject({ text: "AFTER" });
  });

  it("rejects with UNAVAILABLE when nobody serves the queue", async () => {
    const started = Date.now();
    const err = await broker.request("rpc.nobody", echo, { text: "x" }, { timeoutMs: 5000 }).catch((e) => e);
    expect(err).toMatchObject({ code: "UNAVAILABLE", detail: "service rpc.nobody unavailable" });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("serves concurrent requests and matches each reply to its request", async () => {
    const texts = Array.from({ length: 50 }, (_, i) => `t${i}`);
    const res = await Promise.all(texts.map((text) => broker.request("rpc.test", echo, { text })));
    expect(res.map((r) => r.text)).toEqual(texts.map((t) => t.toUpperCase()));
  });
});

describe("rpc batches", () => {
  /** A raw AMQP client: its own reply queue, and every message that arrives on it. */
  async function rawClient() {
    const { queue } = await adm.ch.assertQueue("", { exclusive: true, autoDelete: true });
    const got: amqp.ConsumeMessage[] = [];
    await adm.ch.consume(queue, (m) => m && got.push(m), { noAck: true });
    return { replyTo: queue, got };
  }
  const batchBody = (requests: unknown[]) => Buffer.from(JSON.stringify({ requests }));

  it("sends requests made in the same turn as one message, and matches each answer to its request", async () => {
    await adm.ch.assertQueue("rpc.raw-batch", { durable: false, autoDelete: true });
    const seen: amqp.ConsumeMessage[] = [];
    await adm.ch.consume(
      "rpc.raw-batch",
      (m) => {
        if (!m) return;
        seen.push(m);
        if (m.properties.type !== "pragma.rpc.batch") return;
        const { requests } = JSON.parse(m.content.toString()) as { requests: { id: string; data: { text: string } }[] };
        // Answered in two messages, the second half first.
        const replies = requests.map((r) => ({ id: r.id, reply: { ok: true, data: { text: `<${r.data.text}>` } } }));
        for (const part of [replies.slice(2), replies.slice(0, 2)]) {
          adm.ch.sendToQueue(m.properties.replyTo, Buffer.from(JSON.stringify({ replies: part })), { type: "pragma.rpc.batch-reply" });
        }
      },
      { noAck: true },
    );
    const res = await runWithContext({ requestId: "req_batch", orgId: "org_b" }, () =>
      Promise.all(["a", "b", "c", "d", "e"].map((text) => broker.request("rpc.raw-batch", echo, { text }))),
    );
    expect(res.map((r) => r.text)).toEqual(["<a>", "<b>", "<c>", "<d>", "<e>"]);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.properties.type).toBe("pragma.rpc.batch");
    const { requests } = JSON.parse(seen[0]!.content.toString());
    expect(requests).toHaveLength(5);
    expect(requests[0]).toMatchObject({ type: echo.type, correlationId: "req_batch", headers: { "x-org-id": "org_b" }, data: { text: "a" } });
    expect(new Set(requests.map((r: { id: string }) => r.id)).size).toBe(5);

    // A lone request still goes as a plain message (and is answered plainly).
    const plain = broker.request("rpc.raw-batch", echo, { text: "solo" }, { timeoutMs: 300 }).catch((e) => e);
    await waitFor(async () => seen.length === 2, { message: "the lone request arrived" });
    expect(seen[1]!.properties.type).toBe(echo.type);
    expect(JSON.parse(seen[1]!.content.toString())).toEqual({ text: "solo" });
    expect(await plain).toMatchObject({ code: "TIMEOUT" }); // this raw server only answers batches
  });

  it("gives a plain error answered to the batch (a server that does not know batches) to every request in it", async () => {
    await adm.ch.assertQueue("rpc.old-server", { durable: false, autoDelete: true });
    await adm.ch.consume(
      "rpc.old-server",
      (m) => {
        if (!m) return;
        const error = { code: "BAD_REQUEST", detail: `unknown request type: ${m.properties.type}` };
        adm.ch.sendToQueue(m.properties.replyTo, Buffer.from(JSON.stringify({ ok: false, error })), { headers: { "x-request-message-id": m.properties.messageId } });
      },
      { noAck: true },
    );
    const errs = await Promise.all([1, 2, 3].map((n) => broker.request("rpc.old-server", echo, { text: `${n}` }).catch((e) => e)));
    for (const e of errs) expect(e).toMatchObject({ code: "BAD_REQUEST", detail: "unknown request type: pragma.rpc.batch" });
  });

  it("fails every request of a batch that no queue takes with UNAVAILABLE", async () => {
    const errs = await Promise.all([1, 2, 3].map((n) => broker.request("rpc.nobody", echo, { text: `${n}` }, { timeoutMs: 5000 }).catch((e) => e)));
    for (const e of errs) expect(e).toMatchObject({ code: "UNAVAILABLE", detail: "service rpc.nobody unavailable" });
  });

  it("serves a batch: each request alone in its context, fast answers not held back by slow ones", async () => {
    const { replyTo, got } = await rawClient();
    const requests = [
      { id: "r1", type: echo.type, correlationId: "req_one", headers: {}, data: { text: "x" } },
      { id: "r2", type: slow.type, headers: {}, data: { ms: 400 } },
      { id: "r3", type: fails.type, headers: {}, data: { kind: "app" } },
      { id: "r4", type: "test.nobody.v1", headers: {}, data: {} },
      { id: "r5", type: echo.type, correlationId: "req_five", headers: {}, data: { text: 5 } },
    ];
    adm.ch.sendToQueue("rpc.test", batchBody(requests), { type: "pragma.rpc.batch", messageId: "msg_batch1", replyTo });
    await waitFor(async () => got.length >= 2, { message: "two batch replies" });
    const [first, second] = got.map((m) => ({ type: m.properties.type, replies: JSON.parse(m.content.toString()).replies as { id: string; reply: any }[] }));
    expect(first!.type).toBe("pragma.rpc.batch-reply");
    expect(got[0]!.properties.headers).toMatchObject({ "x-request-message-id": "msg_batch1" });
    const byId = Object.fromEntries([...first!.replies, ...second!.replies].map((r) => [r.id, r.reply]));
    expect(first!.replies.map((r) => r.id).sort()).toEqual(["r1", "r3", "r4", "r5"]);
    expect(second!.replies.map((r) => r.id)).toEqual(["r2"]);
    expect(byId.r1).toEqual({ ok: true, data: { text: "X", correlationId: "req_one" } });
    expect(byId.r2).toEqual({ ok: true, data: { done: true } });
    expect(byId.r3).toEqual({ ok: false, error: { code: "NOT_FOUND", detail: "Thing not found: x" } });
    expect(byId.r4).toMatchObject({ ok: false, error: { code: "BAD_REQUEST", detail: "unknown request type: test.nobody.v1" } });
    expect(byId.r5).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
  });

  it("answers a batch whose envelope is wrong with one error, to the batch's id", async () => {
    const { replyTo, got } = await rawClient();
    adm.ch.sendToQueue("rpc.test", Buffer.from(JSON.stringify({ requests: [{ type: echo.type }] })), { type: "pragma.rpc.batch", messageId: "msg_bad", replyTo });
    adm.ch.sendToQueue("rpc.test", Buffer.from("not json"), { type: "pragma.rpc.batch", messageId: "msg_bad2", replyTo });
    await waitFor(async () => got.length === 2, { message: "two error replies" });
    const byId = Object.fromEntries(got.map((m) => [m.properties.headers!["x-request-message-id"], JSON.parse(m.content.toString())]));
    expect(byId.msg_bad).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED" } });
    expect(JSON.stringify(byId.msg_bad.error.detail)).toContain("requests");
    expect(byId.msg_bad2).toEqual({ ok: false, error: { code: "BAD_REQUEST", detail: "request body is not JSON" } });
  });
});

describe("raw replies", () => {
  const bytes = defineRawRequest("test.bytes.read.v1", z.object({ n: z.number().int().min(0), fail: z.boolean().optional() }), z.object({ n: z.number() }));
  /** What the handler produced for `n`: JSON text with quotes to escape, non-ASCII, and a byte that is not UTF-8 (raw means raw). */
  const produced = (n: number) => Buffer.concat([Buffer.from(`{"n":${n},"s":"\\"q\\" ✓"}`), Buffer.from([0xff, n % 256])]);

  beforeAll(async () => {
    await broker.addTopology(rpcQueueTopology("rpc.raw"));
    await broker.serve("rpc.raw", {
      [bytes.type]: handler(bytes, async (q) => {
        if (q.fail) throw new AppError("NOT_FOUND", `nothing at ${q.n}`);
        return { body: produced(q.n), meta: { n: q.n } };
      }),
      [echo.type]: handler(echo, async (q) => ({ text: q.text.toUpperCase() })),
    });
  });

  it("arrive through the broker byte-identical to what the handler produced, alone and in a batch with errors and plain answers", async () => {
    const alone = await broker.request("rpc.raw", bytes, { n: 7 });
    expect(Buffer.from(alone.body).equals(produced(7))).toBe(true);
    expect(alone.meta).toEqual({ n: 7 });

    const [a, err, plain, b] = await Promise.all([
      broker.request("rpc.raw", bytes, { n: 1 }),
      broker.request("rpc.raw", bytes, { n: 2, fail: true }).catch((e: unknown) => e),
      broker.request("rpc.raw", echo, { text: "x" }),
      broker.request("rpc.raw", bytes, { n: 0 }),
    ]);
    expect(Buffer.from((a as { body: Uint8Array }).body).equals(produced(1))).toBe(true);
    expect(Buffer.from((b as { body: Uint8Array }).body).equals(produced(0))).toBe(true);
    expect(err).toMatchObject({ code: "NOT_FOUND", detail: "nothing at 2" });
    expect(plain).toEqual({ text: "X" });
  });

  it("a reply's body is the handler's bytes, with no envelope; an error's is the envelope", async () => {
    const { queue: replyTo } = await adm.ch.assertQueue("", { exclusive: true, autoDelete: true });
    const got: amqp.ConsumeMessage[] = [];
    await adm.ch.consume(replyTo, (m) => m && got.push(m), { noAck: true });
    adm.ch.sendToQueue("rpc.raw", Buffer.from(JSON.stringify({ n: 9 })), { type: bytes.type, messageId: "msg_raw1", replyTo });
    adm.ch.sendToQueue("rpc.raw", Buffer.from(JSON.stringify({ n: 9, fail: true })), { type: bytes.type, messageId: "msg_raw2", replyTo });
    await waitFor(async () => got.length === 2, { message: "two replies" });
    const byId = Object.fromEntries(got.map((m) => [m.properties.headers!["x-request-message-id"], m]));
    expect(byId.msg_raw1!.content.equals(produced(9))).toBe(true);
    expect(byId.msg_raw1!.properties.headers!["x-raw-replies"]).toBe(JSON.stringify([{ id: "msg_raw1", bytes: produced(9).length, meta: { n: 9 } }]));
    expect(byId.msg_raw2!.properties.headers!["x-raw-replies"]).toBeUndefined();
    expect(JSON.parse(byId.msg_raw2!.content.toString())).toEqual({ ok: false, error: { code: "NOT_FOUND", detail: "nothing at 9" } });
  });
});

describe("close", () => {
  it("waits for in-flight handlers and acks them before closing", async () => {
    await queueWithDlq(adm.ch, "q.close");
    const { broker: b, logs } = await startBroker(vh.amqpUrl, { connectionName: "close-test" });
    let started = 0;
    let finished = 0;
    await b.consume(
      "q.close",
      thingCreated,
      async () => {
        started += 1;
        await sleep(500);
        finished += 1;
      },
      { prefetch: 10 },
    );
    for (let i = 0; i < 5; i++) await broker.publish(thingCreated, { id: `c${i}`, n: i }, { exchange: EXCHANGE, routingKey: "q.close" });
    await waitFor(async () => started === 5, { message: "5 handlers started" });
    expect(finished).toBe(0);
    await b.close();
    expect(finished).toBe(5);
    expect(b.isConnected()).toBe(false);
    // Unacked messages would be back in the queue once the connection is gone.
    await sleep(100);
    expect(await messageCount(adm.ch, "q.close")).toBe(0);
    expect(logs.text()).not.toMatch(/dropping ack/);
  });
});
