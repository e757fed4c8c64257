/**
 * Batched RPC: requests for one queue made in the same turn of the event loop travel as
 * one AMQP message, and the answers that are ready in the same turn go back as one.
 *
 * Under load every RPC cost the broker two messages (request and reply), and each
 * message costs the broker, the sender and the receiver a fixed amount of work whatever
 * it carries; a gateway serving hundreds of requests a second to the store paid that per
 * request. A lone request (the usual case at low load) still goes as the plain message
 * it always was, so a batch only appears when there is something to share.
 *
 * Wire form (JSON, contentType application/json, never persistent):
 * - request, type `pragma.rpc.batch`:
 *   `{"requests":[{"id","type","correlationId"?,"headers","data"}, ...]}`; each entry is
 *   what a plain request carries in its properties and body;
 * - reply, type `pragma.rpc.batch-reply`: `{"replies":[{"id","reply"}, ...]}`, where
 *   `reply` is the plain reply body (`{ok:true,data}` or `{ok:false,error}`). The server
 *   answers each entry as soon as it is done, coalescing the entries finished in the same
 *   turn, so a slow request never holds back a fast one from the same batch. Raw answers
 *   (rpc-raw.ts) are not in that JSON: their bytes come first in the body, named by the
 *   reply's RAW_REPLIES_HEADER, and the JSON of the others (if any) follows them.
 * A server that does not know batches answers the batch's message id with an error,
 * which the client gives to every entry of the batch.
 */
import { z } from "zod";
import { isRaw, rawRepliesHeader, type Answer, type RawReply } from "./rpc-raw";

export const BATCH_REQUEST_TYPE = "pragma.rpc.batch";
export const BATCH_REPLY_TYPE = "pragma.rpc.batch-reply";

/** What one batch may carry; past either bound the client starts another batch. */
export const BATCH_MAX_REQUESTS = 64;
export const BATCH_MAX_BYTES = 256 * 1024;

export type RpcReply = { ok: true; data: unknown } | { ok: false; error: { code: string; detail: unknown } };

export const batchRequestSchema = z.object({
  requests: z
    .array(
      z.object({
        id: z.string().min(1),
        type: z.string(),
        correlationId: z.string().optional(),
        headers: z.record(z.string(), z.unknown()).default({}),
        data: z.unknown(),
      }),
    )
    .min(1)
    .max(BATCH_MAX_REQUESTS),
});

/** What a request carries, with its body already serialised (`dataJson`). */
export interface EntryParts {
  id: string;
  type: string;
  correlationId?: string | undefined;
  headers: Record<string, unknown>;
  dataJson: string;
}

/** Requests cut into batches of at most BATCH_MAX_REQUESTS requests and about BATCH_MAX_BYTES (an oversized one goes alone). */
export function chunkEntries<T extends EntryParts>(entries: readonly T[]): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (cur.length > 0 && (cur.length >= BATCH_MAX_REQUESTS || bytes + e.dataJson.length > BATCH_MAX_BYTES)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(e);
    bytes += e.dataJson.length;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** The batch request body; each request's body is spliced in as the JSON text it already is. */
export function batchRequestBody(entries: readonly EntryParts[]): Buffer {
  const parts = entries.map((e) => {
    const meta = JSON.stringify(e.correlationId === undefined ? { id: e.id, type: e.type, headers: e.headers } : { id: e.id, type: e.type, correlationId: e.correlationId, headers: e.headers });
    return `${meta.slice(0, -1)},"data":${e.dataJson}}`;
  });
  return Buffer.from(`{"requests":[${parts.join(",")}]}`);
}

/** A batch reply's body, and its RAW_REPLIES_HEADER value when some answers are raw: their bytes first, then the others' JSON. */
export function batchReplyBody(replies: readonly { id: string; reply: Answer }[]): { content: Buffer; rawHeader: string | undefined } {
  const raw: { id: string; reply: RawReply }[] = [];
  const plain: { id: string; reply: RpcReply }[] = [];
  for (const { id, reply } of replies) {
    if (isRaw(reply)) raw.push({ id, reply });
    else plain.push({ id, reply });
  }
  if (raw.length === 0) return { content: Buffer.from(JSON.stringify({ replies: plain })), rawHeader: undefined };
  const bodies = raw.map((r) => r.reply.raw);
  if (plain.length > 0) bodies.push(Buffer.from(JSON.stringify({ replies: plain })));
  return { content: bodies.length === 1 ? bodies[0]! : Buffer.concat(bodies), rawHeader: rawRepliesHeader(raw) };
}

/** The replies of a batch reply body, or null when it is not one. */
export function parseBatchReply(content: Buffer): { id: string; reply: RpcReply }[] | null {
  let body: unknown;
  try {
    body = JSON.parse(content.toString("utf8"));
  } catch {
    return null;
  }
  const replies = (body as { replies?: unknown } | null)?.replies;
  if (!Array.isArray(replies)) return null;
  return replies.filter((r): r is { id: string; reply: RpcReply } => typeof r?.id === "string" && typeof r?.reply === "object" && r.reply !== null);
}
