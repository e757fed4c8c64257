import { BATCH_MAX_BYTES, BATCH_MAX_REQUESTS, batchRequestBody, batchRequestSchema, chunkEntries, parseBatchReply, type EntryParts } from "./rpc-batch";

const entry = (i: number, dataJson = `{"n":${i}}`): EntryParts => ({ id: `msg_${i}`, type: "test.echo.run.v1", headers: { "x-org-id": "o" }, dataJson });

describe("chunkEntries", () => {
  it("cuts at BATCH_MAX_REQUESTS requests, keeping order", () => {
    const all = Array.from({ length: BATCH_MAX_REQUESTS * 2 + 1 }, (_, i) => entry(i));
    const chunks = chunkEntries(all);
    expect(chunks.map((c) => c.length)).toEqual([BATCH_MAX_REQUESTS, BATCH_MAX_REQUESTS, 1]);
    expect(chunks.flat()).toEqual(all);
  });

  it("cuts before a request that would pass BATCH_MAX_BYTES; an oversized one goes alone", () => {
    const big = (i: number) => entry(i, JSON.stringify({ s: "x".repeat(BATCH_MAX_BYTES / 2) }));
    const huge = entry(9, JSON.stringify({ s: "y".repeat(BATCH_MAX_BYTES * 2) }));
    const chunks = chunkEntries([big(0), big(1), entry(2), huge, entry(3)]);
    expect(chunks.map((c) => c.map((e) => e.id))).toEqual([["msg_0"], ["msg_1", "msg_2"], ["msg_9"], ["msg_3"]]);
  });
});

describe("batch bodies", () => {
  it("a request body spliced in as JSON text reads back as the same request through the server's schema", () => {
    const body = batchRequestBody([entry(1, '{"text":"a \\"quoted\\" ✓"}'), { ...entry(2), correlationId: "req_2" }]);
    const parsed = batchRequestSchema.parse(JSON.parse(body.toString()));
    expect(parsed.requests).toEqual([
      { id: "msg_1", type: "test.echo.run.v1", headers: { "x-org-id": "o" }, data: { text: 'a "quoted" ✓' } },
      { id: "msg_2", type: "test.echo.run.v1", correlationId: "req_2", headers: { "x-org-id": "o" }, data: { n: 2 } },
    ]);
  });

  it("parseBatchReply: null for what is not a batch reply, entries without an id or reply skipped", () => {
    expect(parseBatchReply(Buffer.from("not json"))).toBeNull();
    expect(parseBatchReply(Buffer.from('{"ok":true,"data":{}}'))).toBeNull();
    const replies = parseBatchReply(Buffer.from(JSON.stringify({ replies: [{ id: "a", reply: { ok: true, data: 1 } }, { id: "b" }, { reply: { ok: true } }] })));
    expect(replies).toEqual([{ id: "a", reply: { ok: true, data: 1 } }]);
  });
});
