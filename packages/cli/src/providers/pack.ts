import { readdirSync } from "node:fs";
import { create } from "tar";

/** Files and directories that never go into a pushed package. */
const SKIP = new Set([".git", "dist", "coverage", ".DS_Store"]);

/**
 * A provider directory as the .tar.gz `providers push` uploads: every file under `dir`
 * except version control and build output (node_modules is kept: the build uses what the
 * package brings and installs nothing).
 */
export async function packProvider(dir: string): Promise<Buffer> {
  const entries = readdirSync(dir).filter((e) => !SKIP.has(e));
  const chunks: Buffer[] = [];
  const stream = create({ gzip: true, cwd: dir, portable: true, filter: (p) => !p.split("/").some((s) => SKIP.has(s)) }, entries);
  for await (const c of stream as unknown as AsyncIterable<Buffer>) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}
