/**
 * Raw replies: the answer to a contract made with defineRawRequest (@pragma/contracts) is
 * bytes the caller passes on as they are (the Auto API's rows as the HTTP body's JSON
 * text), and travels as those bytes instead of inside the JSON envelope. In the envelope
 * such a body was a string inside JSON: the server escaped every quote of it, the client
 * parsed the envelope to get the string back, and the caller encoded it to bytes again;
 * for an Auto API read that was ~10% of the gateway's CPU and ~6% of the worker's.
 *
 * Wire form: the header RAW_REPLIES_HEADER, JSON text `[{"id","bytes","meta"}, ...]`,
 * says that the message body begins with raw answers, one after another in that order:
 * the answer to request `id` is the next `bytes` bytes, answered ok with `meta`. A plain
 * reply carries one (`id` is the request's message id, and the body is the answer's bytes
 * alone); a batch reply (rpc-batch.ts) carries those of its entries that are raw, followed
 * by the batch reply JSON of the others when there are any. Errors are never raw: they
 * keep the envelope. Only a request of a raw contract is answered raw, and only a client
 * that knows raw replies knows raw contracts, so an older client never gets one.
 */
import type { RawAnswer } from "@pragma/contracts";
import type { RpcReply } from "./rpc-batch";

/** An ok answer to a raw contract's request, to be sent as its bytes. */
export interface RawReply {
  ok: true;
  raw: Buffer;
  meta: unknown;
}

/** What the server answers one request with: the envelope, or raw bytes. */
export type Answer = RpcReply | RawReply;

export const isRaw = (a: Answer): a is RawReply => "raw" in a;

/** A raw contract's validated answer as a RawReply; the bytes are not copied. */
export function rawReply({ body, meta }: RawAnswer<unknown>): RawReply {
  return { ok: true, raw: Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength), meta };
}

/** The RAW_REPLIES_HEADER value for `replies`, in the order their bytes go in the body. */
export function rawRepliesHeader(replies: readonly { id: string; reply: RawReply }[]): string {
  return JSON.stringify(replies.map(({ id, reply }) => ({ id, bytes: reply.raw.length, meta: reply.meta })));
}

/** A plain reply's body (the answer to request `requestId`), and its RAW_REPLIES_HEADER value when the answer is raw. */
export function replyBody(answer: Answer, requestId: string): { content: Buffer; rawHeader: string | undefined } {
  if (isRaw(answer)) return { content: answer.raw, rawHeader: rawRepliesHeader([{ id: requestId, reply: answer }]) };
  return { content: Buffer.from(JSON.stringify(answer)), rawHeader: undefined };
}

/** One raw answer read from a reply: its body is a view of the message's, not a copy. */
export interface RawPart {
  id: string;
  body: Buffer;
  meta: unknown;
}

/** The raw answers a reply's header announces, and what of its body follows them; null when the header is not one or the body is too short for it. */
export function readRawReplies(header: unknown, content: Buffer): { parts: RawPart[]; rest: Buffer } | null {
  let list: unknown;
  try {
    list = JSON.parse(Buffer.isBuffer(header) ? header.toString("utf8") : String(header));
  } catch {
    return null;
  }
  if (!Array.isArray(list)) return null;
  const parts: RawPart[] = [];
  let at = 0;
  for (const e of list as { id?: unknown; bytes?: unknown; meta?: unknown }[]) {
    if (typeof e?.id !== "string" || !Number.isSafeInteger(e.bytes) || (e.bytes as number) < 0) return null;
    const end = at + (e.bytes as number);
    if (end > content.length) return null;
    parts.push({ id: e.id, body: content.subarray(at, end), meta: e.meta });
    at = end;
  }
  return { parts, rest: content.subarray(at) };
}
