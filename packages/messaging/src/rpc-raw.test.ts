import type { Channel, ConsumeMessage, Options } from "amqplib";
import { z } from "zod";
import { defineRawRequest, defineRequest } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { createLogger } from "@pragma/logger";
import { handler, handlerTable, type RpcHandlers } from "./api";
import type { Connection, Live } from "./connection";
import { DIRECT_REPLY_TO, RAW_REPLIES_HEADER, REQUEST_MESSAGE_ID_HEADER } from "./message-properties";
import { BATCH_REPLY_TYPE, BATCH_REQUEST_TYPE, batchReplyBody } from "./rpc-batch";
import { RpcClient } from "./rpc-client";
import { readRawReplies, type RawReply } from "./rpc-raw";
import { RpcServer } from "./rpc-server";

const rows = defineRawRequest("test.rows.read.v1", z.object({ n: z.number().int(), fail: z.boolean().optional() }), z.object({ rows: z.number().int() }));
const echo = defineRequest("test.echo.run.v1", z.object({ text: z.string() }), z.object({ text: z.string() }));

/** JSON text with what the envelope had to escape (quotes, a newline, a backslash) and non-ASCII. */
const jsonOf = (n: number) => Buffer.from(`[{"id":${n},"text":"a \\"quoted\\"\\nline \\\\ ✓ é"}]`);

interface Sent {
  queue: string;
  content: Buffer;
  props: Options.Publish;
}

/**
 * An RpcServer and an RpcClient joined by an in-memory channel, no broker: what is sent to
 * a queue is processed by the server, what is sent to direct reply-to reaches the client,
 * each a turn later (`tamper` may change a reply on its way); every message sent is kept in `sent`.
 */
async function loopback(handlers: RpcHandlers, tamper: (reply: Sent) => Sent = (m) => m) {
  const log = createLogger({ service: "rpc-raw-test", level: "silent" });
  const sent: Sent[] = [];
  let toClient: (m: ConsumeMessage) => void = () => undefined;
  let tag = 0;
  const ch = {
    on: () => ch,
    consume: async (_queue: string, cb: (m: ConsumeMessage) => void) => {
      toClient = cb;
      return { consumerTag: "c" };
    },
    sendToQueue: (queue: string, content: Buffer, props: Options.Publish) => {
      sent.push({ queue, content, props });
      const msg = { content, fields: { deliveryTag: ++tag, redelivered: false }, properties: { headers: {}, ...props } } as unknown as ConsumeMessage;
      setImmediate(() => {
        if (queue === DIRECT_REPLY_TO) toClient({ ...msg, content: tamper({ queue, content, props }).content });
        else void serve(msg, ch as unknown as Channel).then(({ reply }) => reply && ch.sendToQueue(reply.to, reply.content, reply.properties));
      });
      return true;
    },
  };
  const live = { gen: 1 } as unknown as Live;
  const conn = { options: { connectionName: "rpc-raw-test" }, log, live, closed: false, isClosed: () => false, channel: async () => ch } as unknown as Connection;
  const serve = new RpcServer(conn, "1.0.0").processor("rpc.q", handlers, undefined);
  const client = new RpcClient(conn);
  await client.open(live);
  const replies = () => sent.filter((s) => s.queue === DIRECT_REPLY_TO);
  return { client, sent, replies };
}

/** Answers `rows` with jsonOf(n), recording each body it produced in `produced`; `fail` answers NOT_FOUND. */
const rowsHandler = (produced: Map<number, Uint8Array>) =>
  handler(rows, async (q) => {
    if (q.fail) throw new AppError("NOT_FOUND", `no rows ${q.n}`);
    const body = jsonOf(q.n);
    produced.set(q.n, body);
    return { body, meta: { rows: q.n } };
  });

describe("raw replies", () => {
  it("a raw answer is sent as the handler's bytes, not in the envelope, and the caller gets them byte-identical, uncopied", async () => {
    const produced = new Map<number, Uint8Array>();
    const { client, sent, replies } = await loopback(handlerTable(rowsHandler(produced)));
    const res = await client.request("rpc.q", rows, { n: 1 });

    const request = sent.find((s) => s.queue === "rpc.q")!;
    const [reply] = replies();
    // The reply message's body is the handler's Buffer itself: nothing escaped, nothing wrapped.
    expect(reply!.content).toBe(produced.get(1));
    expect(reply!.props.contentType).toBe("application/octet-stream");
    expect(reply!.props.headers).toEqual({
      [REQUEST_MESSAGE_ID_HEADER]: request.props.messageId,
      [RAW_REPLIES_HEADER]: JSON.stringify([{ id: request.props.messageId, bytes: jsonOf(1).length, meta: { rows: 1 } }]),
    });
    // The caller's body is a view of the reply's bytes: equal, and the same memory.
    expect(Buffer.from(res.body).equals(jsonOf(1))).toBe(true);
    expect(res.body.buffer).toBe(reply!.content.buffer);
    expect(res.body.byteOffset).toBe(reply!.content.byteOffset);
    expect(res.meta).toEqual({ rows: 1 });
  });

  it("a handler's plain Uint8Array is sent without a copy too", async () => {
    const bytes = new Uint8Array([0x5b, 0x5d, 0xff, 0x00]); // not even UTF-8: raw means raw
    const { client, replies } = await loopback(handlerTable(handler(rows, async () => ({ body: bytes, meta: { rows: 0 } }))));
    const res = await client.request("rpc.q", rows, { n: 0 });
    expect(replies()[0]!.content.buffer).toBe(bytes.buffer);
    expect([...res.body]).toEqual([0x5b, 0x5d, 0xff, 0x00]);
  });

  it("an error answer to a raw contract keeps the envelope, and the caller gets the AppError", async () => {
    const { client, replies } = await loopback(handlerTable(rowsHandler(new Map())));
    const err = await client.request("rpc.q", rows, { n: 2, fail: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: "NOT_FOUND", detail: "no rows 2" });
    const [reply] = replies();
    expect(reply!.props.headers?.[RAW_REPLIES_HEADER]).toBeUndefined();
    expect(reply!.props.contentType).toBe("application/json");
    expect(JSON.parse(reply!.content.toString())).toEqual({ ok: false, error: { code: "NOT_FOUND", detail: "no rows 2" } });
  });

  it("a batch mixing raw answers, a raw contract's error and plain answers: raw bytes first, the others' JSON after, each caller its own answer", async () => {
    const produced = new Map<number, Uint8Array>();
    const { client, sent, replies } = await loopback(handlerTable(rowsHandler(produced), handler(echo, async (q) => ({ text: q.text.toUpperCase() }))));
    const [a, failed, plain, b] = await Promise.all([
      client.request("rpc.q", rows, { n: 3 }),
      client.request("rpc.q", rows, { n: 4, fail: true }).catch((e: unknown) => e),
      client.request("rpc.q", echo, { text: "hi" }),
      client.request("rpc.q", rows, { n: 5 }),
    ]);
    expect(sent.filter((s) => s.queue === "rpc.q").map((s) => s.props.type)).toEqual([BATCH_REQUEST_TYPE]);
    expect(Buffer.from((a as { body: Uint8Array }).body).equals(jsonOf(3))).toBe(true);
    expect((a as { meta: unknown }).meta).toEqual({ rows: 3 });
    expect(Buffer.from((b as { body: Uint8Array }).body).equals(jsonOf(5))).toBe(true);
    expect(failed).toMatchObject({ code: "NOT_FOUND", detail: "no rows 4" });
    expect(plain).toEqual({ text: "HI" });

    // All four were ready in the same turn: one reply message, the raw bodies back to back, then the JSON.
    expect(replies()).toHaveLength(1);
    const reply = replies()[0]!;
    expect(reply.props.type).toBe(BATCH_REPLY_TYPE);
    const read = readRawReplies(reply.props.headers?.[RAW_REPLIES_HEADER], reply.content)!;
    expect(read.parts.map((p) => p.meta)).toEqual([{ rows: 3 }, { rows: 5 }]);
    expect(Buffer.concat(read.parts.map((p) => p.body)).equals(Buffer.concat([jsonOf(3), jsonOf(5)]))).toBe(true);
    const rest = JSON.parse(read.rest.toString()) as { replies: { reply: unknown }[] };
    expect(rest.replies.map((r) => r.reply)).toEqual([{ ok: false, error: { code: "NOT_FOUND", detail: "no rows 4" } }, { ok: true, data: { text: "HI" } }]);
  });

  it("a raw answer to a request whose contract is not raw (another version's), or a body shorter than its header says, fails the caller with UPSTREAM_ERROR", async () => {
    const echoRaw = defineRawRequest(echo.type, echo.request, z.object({}));
    const mismatched = await loopback(handlerTable(handler(echoRaw, async () => ({ body: Buffer.from("{}"), meta: {} }))));
    expect(await mismatched.client.request("rpc.q", echo, { text: "x" }).catch((e: unknown) => e)).toMatchObject({
      code: "UPSTREAM_ERROR",
      detail: `service rpc.q sent an invalid ${echo.type} response`,
    });

    const cut = (m: Sent): Sent => ({ ...m, content: m.content.subarray(0, m.content.length - 1) });
    const truncated = await loopback(handlerTable(rowsHandler(new Map())), cut);
    expect(await truncated.client.request("rpc.q", rows, { n: 1 }).catch((e: unknown) => e)).toMatchObject({ code: "UPSTREAM_ERROR", detail: "service rpc.q sent a reply that cannot be read" });
  });

  it("readRawReplies: null for a header that is not a list of parts, or names more bytes than the body has", () => {
    expect(readRawReplies("not json", Buffer.from(""))).toBeNull();
    expect(readRawReplies(JSON.stringify({ id: "a", bytes: 0 }), Buffer.from(""))).toBeNull();
    expect(readRawReplies(JSON.stringify([{ id: "a", bytes: -1 }]), Buffer.from(""))).toBeNull();
    expect(readRawReplies(JSON.stringify([{ id: "a", bytes: 1.5 }]), Buffer.from("12"))).toBeNull();
    expect(readRawReplies(JSON.stringify([{ bytes: 1 }]), Buffer.from("1"))).toBeNull();
    expect(readRawReplies(JSON.stringify([{ id: "a", bytes: 3 }, { id: "b", bytes: 2 }]), Buffer.from("1234"))).toBeNull();
    // amqplib may hand a header's value over as bytes.
    expect(readRawReplies(Buffer.from(JSON.stringify([{ id: "a", bytes: 2, meta: 1 }])), Buffer.from("12"))?.parts).toEqual([{ id: "a", body: Buffer.from("12"), meta: 1 }]);
  });
});

describe("batchReplyBody", () => {
  it("without raw answers is the JSON it always was, with no header", () => {
    const replies = [{ id: "a", reply: { ok: true as const, data: { x: 1 } } }];
    const { content, rawHeader } = batchReplyBody(replies);
    expect(rawHeader).toBeUndefined();
    expect(content.toString()).toBe(JSON.stringify({ replies }));
  });

  it("with raw answers only: their bytes, nothing after", () => {
    const r = (s: string): RawReply => ({ ok: true, raw: Buffer.from(s), meta: { s } });
    const { content, rawHeader } = batchReplyBody([
      { id: "a", reply: r("[1]") },
      { id: "b", reply: r("") },
      { id: "c", reply: r('{"k":"v"}') },
    ]);
    expect(content.toString()).toBe('[1]{"k":"v"}');
    const read = readRawReplies(rawHeader, content)!;
    expect(read.parts.map((p) => [p.id, p.body.toString(), p.meta])).toEqual([
      ["a", "[1]", { s: "[1]" }],
      ["b", "", { s: "" }],
      ["c", '{"k":"v"}', { s: '{"k":"v"}' }],
    ]);
    expect(read.rest.length).toBe(0);
  });
});
