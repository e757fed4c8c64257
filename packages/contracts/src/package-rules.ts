/**
 * What a pushed provider package may contain (api.md §6). Pure rules over tar header
 * fields, applied twice: by the gateway while the upload streams (so hostile input is a
 * 4xx before anything is stored) and by the worker while it unpacks (so nothing is ever
 * written outside the build directory, whatever the store holds).
 */
export interface PackageLimits {
  maxEntries: number;
  maxUnpackedBytes: number;
}

export const DEFAULT_PACKAGE_LIMITS: PackageLimits = { maxEntries: 5000, maxUnpackedBytes: 100 * 1024 * 1024 };
export const DEFAULT_MAX_PUSH_BYTES = 20 * 1024 * 1024;

export interface EntryHeader {
  path: string;
  type: string;
  linkpath?: string | undefined;
  size?: number | undefined;
}

const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);

/** Normalised segments of a relative path, or null when it leaves its root ("..", absolute). */
export function safeSegments(p: string): string[] | null {
  if (p.startsWith("/") || p.startsWith("\\") || /^[a-zA-Z]:/.test(p) || p.includes("\0")) return null;
  const out: string[] = [];
  for (const seg of p.split(/[\\/]+/)) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") return null;
    out.push(seg);
  }
  return out;
}

/** Why an entry is refused (422 naming it), or null. */
export function entryProblem(e: EntryHeader): string | null {
  const segs = safeSegments(e.path);
  if (!segs) return `entry "${e.path}": absolute paths and ".." are not allowed`;
  if (!ALLOWED_TYPES.has(e.type)) return `entry "${e.path}": ${e.type} entries (devices, fifos, …) are not allowed`;
  if (e.type === "SymbolicLink" || e.type === "Link") {
    const link = e.linkpath ?? "";
    // A symlink resolves against its own directory, a hard link against the archive root.
    const base = e.type === "SymbolicLink" ? segs.slice(0, -1).join("/") : "";
    if (link.startsWith("/") || safeSegments(resolveWithin(base, link)) === null) return `entry "${e.path}": link to "${link}" points outside the package`;
  }
  return null;
}

/** base/link with ".." applied; a result that climbs above the root keeps a leading "..". */
function resolveWithin(base: string, link: string): string {
  const out = base === "" ? [] : base.split("/");
  for (const seg of link.split(/[\\/]+/)) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length === 0) return "../";
      out.pop();
    } else out.push(seg);
  }
  return out.join("/");
}

/** Counts entries and declared bytes; says which limit an entry crosses. */
export class PackageBudget {
  entries = 0;
  bytes = 0;
  constructor(private readonly limits: PackageLimits) {}

  add(e: EntryHeader): string | null {
    this.entries++;
    this.bytes += e.size ?? 0;
    if (this.entries > this.limits.maxEntries) return `the package has more than ${this.limits.maxEntries} entries`;
    if (this.bytes > this.limits.maxUnpackedBytes) return `the package unpacks to more than ${this.limits.maxUnpackedBytes} bytes`;
    return null;
  }
}

// Uint8Array (a Buffer is one): the contracts are also compiled for the browser (the console).
export const isGzip = (head: Uint8Array): boolean => head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
