/**
 * Documents as maps (issue 21): every file a README, doc or source comment names must exist,
 * so a move or a split that forgets its map fails here rather than misleading the next
 * reader. A path with a slash is looked up from the repository root, from the naming file's
 * folder, and from its package's root and src/; a bare file name of code (`retry-dead-letter.ts`)
 * must be some tracked file's name. Not checked: fenced code blocks in Markdown (examples of a
 * user's files), URLs, build output, and the specs outside the repository (`api.md`).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const root = join(__dirname, "..", "..");

/** Files a document names on purpose that are not ours: each with why. */
const NOT_OURS: Record<string, string> = {
  "packages/provider-sdk/README.md test/index.test.ts": "a file `pragma providers init` writes into the user's package",
  "services/provider-worker/README.md src/index.ts": "an entry looked for in a pushed provider's package",
};

const PATH = /(?<![\w@/.$-])((?:\.{1,2}\/)*(?:[\w.-]+\/)*[\w-][\w.-]*\.(?:ts|tsx|mjs|cjs|json|md|ya?ml|sql|sh))(?![\w/-])/g;
const CODE_FILE = /\.(ts|tsx|mjs|cjs|sql|sh)$/;

function namedFiles(): { where: string; named: string }[] {
  const tracked = execFileSync("git", ["ls-files"], { cwd: root, encoding: "utf8" }).split("\n").filter(Boolean);
  const names = new Set(tracked.map((f) => basename(f)));
  const missing: { where: string; named: string }[] = [];
  for (const file of tracked.filter((f) => /\.(md|ts|tsx|mjs|cjs)$/.test(f) && !f.includes("/generated/"))) {
    const markdown = file.endsWith(".md");
    const pkgRoot = /^((?:services|packages)\/[^/]+)\//.exec(file)?.[1];
    let fenced = false;
    readFileSync(join(root, file), "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (markdown && /^\s*```/.test(line)) fenced = !fenced;
        if (markdown ? fenced || /^\s*```/.test(line) : !/^\s*(\/\/|\*|\/\*)/.test(line)) return;
        for (const [, p] of line.matchAll(PATH)) {
          if (/^https?:|node_modules|(^|\/)dist\//.test(p) || /(^|\/)shared\//.test(p) || basename(p) === "api.md" || basename(p) === "architecture.md") continue;
          if (NOT_OURS[`${file} ${p}`]) continue;
          const found = p.includes("/")
            ? [p, join(dirname(file), p), ...(pkgRoot ? [join(pkgRoot, p), join(pkgRoot, "src", p)] : [])].some((c) => existsSync(join(root, c)))
            : !CODE_FILE.test(p) || names.has(p);
          if (!found) missing.push({ where: `${file}:${i + 1}`, named: p });
        }
      });
  }
  return missing;
}

it("every file named in a document or a comment exists", () => {
  expect(namedFiles()).toEqual([]);
});
