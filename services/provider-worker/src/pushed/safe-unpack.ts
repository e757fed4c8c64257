import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { Unpack, type ReadEntry } from "tar";
import { PackageBudget, entryProblem, isGzip, type PackageLimits } from "@pragma/contracts";

export class PackageError extends Error {}

/**
 * Extracts a pushed .tar.gz into `dir` under the package rules (the gateway checked the
 * same while the upload streamed; the store's copy is checked again here). A refused entry
 * stops the extraction at once: nothing of it is written, and tar itself never writes
 * outside `dir` (no absolute paths, no "..", no following links out). Owners and modes
 * from the archive are ignored; devices and fifos are refused.
 */
export async function safeUnpack(file: string, dir: string, limits: PackageLimits, log: (line: string) => void): Promise<number> {
  const fh = await open(file, "r");
  const head = Buffer.alloc(2);
  await fh.read(head, 0, 2, 0);
  await fh.close();
  if (!isGzip(head)) throw new PackageError("the package is not a gzip'd tar (.tar.gz)");

  const budget = new PackageBudget(limits);
  let problem: string | null = null;
  await new Promise<void>((resolve, reject) => {
    const source = createReadStream(file);
    const unpack = new Unpack({
      cwd: dir,
      strict: true,
      preservePaths: false,
      preserveOwner: false,
      filter: (_path: string, entry: ReadEntry | import("node:fs").Stats) => {
        if (problem) return false;
        const e = entry as ReadEntry;
        problem = entryProblem({ path: e.path, type: e.type, linkpath: e.linkpath, size: e.size }) ?? budget.add({ path: e.path, type: e.type, size: e.size });
        if (problem) {
          // Stop reading: a tar bomb is not inflated to its end.
          source.unpipe(unpack);
          source.destroy();
          resolve();
          return false;
        }
        return true;
      },
    });
    unpack.on("error", (err: Error) => reject(new PackageError(`not a valid tar archive: ${err.message}`)));
    unpack.on("close", () => resolve());
    source.on("error", (err) => reject(err));
    source.pipe(unpack);
  });
  if (problem) throw new PackageError(problem);
  log(`unpacked ${budget.entries} entries, ${budget.bytes} bytes`);
  return budget.entries;
}
