import { gzipSync } from "node:zlib";
import { Header } from "tar";

export interface RawEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "BlockDevice" | "FIFO";
  body?: Buffer | string;
  linkpath?: string;
  /** Declared size when it differs from the body (a header that lies). */
  size?: number;
}

/**
 * A tar archive written header by header, with no sanitising: what a hostile client can
 * send (absolute paths, "..", links out, devices). Gzip'd unless `gzip` is false.
 */
export function rawTarball(entries: RawEntry[], opts: { gzip?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = e.body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.body) ? e.body : Buffer.from(e.body);
    const type = e.type ?? "File";
    const h = new Header({ path: e.path, type, size: e.size ?? (type === "File" ? body.length : 0), mode: 0o644, mtime: new Date(0), linkpath: e.linkpath ?? "", uid: 0, gid: 0 });
    h.encode();
    blocks.push(h.block!);
    if (type === "File" && body.length > 0) {
      blocks.push(body);
      const pad = (512 - (body.length % 512)) % 512;
      if (pad) blocks.push(Buffer.alloc(pad));
    }
  }
  blocks.push(Buffer.alloc(1024));
  const tar = Buffer.concat(blocks);
  return opts.gzip === false ? tar : gzipSync(tar);
}
