import type { IncomingMessage } from "node:http";
import type { Readable } from "node:stream";
import busboy from "busboy";
import { Parser, type ReadEntry } from "tar";
import { PackageBudget, entryProblem, isGzip, safeSegments, type PackageLimits } from "@pragma/contracts";
import { AppError } from "@pragma/errors";

export interface PushLimits extends PackageLimits {
  /** Compressed size of the `code` part. */
  maxPushBytes: number;
  /** Bytes per piece sent to the store: the most the gateway holds of an upload at once. */
  chunkBytes: number;
}

const invalid = (loc: string[], msg: string) => new AppError("VALIDATION_FAILED", [{ loc, msg, type: "value_error" }]);

/**
 * Checks a gzip'd tar as it streams by: tar's own parser reads the headers (inflating as
 * it goes, so a tar bomb is stopped by the budget, not by memory), and every entry must
 * pass the package rules. The first problem wins; nothing is extracted here.
 */
class PackageInspector {
  problem: AppError | undefined;
  private readonly budget: PackageBudget;
  private sawPackageJson = false;
  private readonly parser: Parser;
  private readonly ended: Promise<void>;

  constructor(limits: PackageLimits) {
    this.budget = new PackageBudget(limits);
    this.parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => this.onEntry(entry),
    });
    this.parser.on("error", (err: Error) => (this.problem ??= invalid(["body", "code"], `not a valid tar archive: ${err.message}`)));
    this.ended = new Promise((resolve) => {
      this.parser.on("end", resolve);
      this.parser.on("close", resolve);
      this.parser.on("error", resolve);
    });
  }

  private onEntry(entry: ReadEntry): void {
    entry.resume();
    if (this.problem) return;
    const header = { path: entry.path, type: entry.type, linkpath: entry.linkpath, size: entry.size };
    const rule = entryProblem(header);
    if (rule) {
      this.problem = invalid(["body", "code"], rule);
      return;
    }
    const over = this.budget.add(header);
    if (over) {
      this.problem = new AppError("PAYLOAD_TOO_LARGE", over);
      return;
    }
    const segs = safeSegments(entry.path) ?? [];
    if (segs[segs.length - 1] === "package.json" && segs.length <= 2 && entry.type === "File") this.sawPackageJson = true;
  }

  write(chunk: Buffer): void {
    if (!this.problem) this.parser.write(chunk);
  }

  async end(): Promise<void> {
    if (this.problem) return;
    this.parser.end();
    await this.ended;
    if (!this.problem && this.budget.entries === 0) this.problem = invalid(["body", "code"], "not a valid tar archive: no entries");
    if (!this.problem && !this.sawPackageJson) this.problem = invalid(["body", "code"], "the package has no package.json (at its root or in one top-level directory)");
  }
}

/**
 * Streams the multipart body: field `deploy`, file part `code` checked on the fly and
 * handed to `send` in pieces of `chunkBytes` (awaited, so a slow store slows the upload
 * instead of filling memory). Rejects with the AppError the client should see.
 */
export function receivePush(req: IncomingMessage, limits: PushLimits, send: (seq: number, data: Buffer) => Promise<void>): Promise<{ deploy: boolean }> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { files: 1, fileSize: limits.maxPushBytes, fields: 10, fieldSize: 1024, parts: 20 } });
    } catch {
      reject(new AppError("BAD_REQUEST", "Expected a multipart/form-data body with a file part named code"));
      return;
    }
    let failure: AppError | undefined;
    let sawCode = false;
    let deploy = false;
    let code: Promise<void> = Promise.resolve();
    const fail = (err: unknown) => {
      failure ??= err instanceof AppError ? err : new AppError("UNAVAILABLE", "The upload could not be stored");
    };
    bb.on("field", (name, value) => {
      if (name === "deploy") deploy = value === "true";
    });
    bb.on("file", (name, stream) => {
      if (name !== "code" || sawCode) {
        stream.resume();
        fail(invalid(["body", name], name === "code" ? "only one code part is allowed" : `unexpected file part ${name}; the package goes in a part named code`));
        return;
      }
      sawCode = true;
      code = consumeCode(stream, limits, send, () => failure).catch(fail);
    });
    bb.on("filesLimit", () => fail(invalid(["body", "code"], "only one file part is allowed")));
    bb.on("error", () => reject(failure ?? new AppError("BAD_REQUEST", "Malformed multipart/form-data body")));
    bb.on("close", () => {
      void code.then(() => {
        if (failure) reject(failure);
        else if (!sawCode) reject(invalid(["body", "code"], "field required"));
        else resolve({ deploy });
      });
    });
    req.pipe(bb);
  });
}

async function consumeCode(stream: Readable & { truncated?: boolean }, limits: PushLimits, send: (seq: number, data: Buffer) => Promise<void>, failed: () => AppError | undefined): Promise<void> {
  const inspector = new PackageInspector(limits);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let seq = 0;
  let head: Buffer | undefined = Buffer.alloc(0);
  let problem: AppError | undefined;
  const flush = async () => {
    const data = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    await send(seq++, data);
  };
  // The loop never exits early: leaving a busboy file stream unread stalls the whole body,
  // so after a problem the rest is only drained and the client gets its answer.
  for await (const raw of stream) {
    if (problem || failed()) continue;
    try {
      const chunk = raw as Buffer;
      if (head) {
        head = Buffer.concat([head, chunk]);
        if (head.length < 2) continue;
        if (!isGzip(head)) throw invalid(["body", "code"], "not a gzip'd tar (.tar.gz)");
        inspector.write(head);
        pending.push(head);
        pendingBytes += head.length;
        head = undefined;
      } else {
        inspector.write(chunk);
        pending.push(chunk);
        pendingBytes += chunk.length;
      }
      if (inspector.problem) throw inspector.problem;
      if (pendingBytes >= limits.chunkBytes) await flush();
    } catch (err) {
      problem = err instanceof AppError ? err : new AppError("UNAVAILABLE", "The upload could not be stored");
    }
  }
  if (stream.truncated) throw new AppError("PAYLOAD_TOO_LARGE", `code is larger than ${limits.maxPushBytes} bytes`);
  if (problem) throw problem;
  if (failed()) return;
  if (head) throw invalid(["body", "code"], "not a gzip'd tar (.tar.gz)");
  await inspector.end();
  if (inspector.problem) throw inspector.problem;
  if (pendingBytes > 0) await flush();
}
