import { PackageBudget, entryProblem, isGzip, safeSegments } from "./package-rules";

describe("package rules", () => {
  it("keeps relative paths inside the package and refuses the rest", () => {
    expect(safeSegments("src/./index.ts")).toEqual(["src", "index.ts"]);
    for (const p of ["/etc/passwd", "../x", "a/../../x", "a/..", "C:\\x", "\\\\server\\x", "a\0b"]) expect(safeSegments(p)).toBeNull();
  });

  it("names the entry and the reason", () => {
    expect(entryProblem({ path: "src/index.ts", type: "File" })).toBeNull();
    expect(entryProblem({ path: "../evil", type: "File" })).toMatch(/entry "\.\.\/evil": absolute paths and "\.\." are not allowed/);
    expect(entryProblem({ path: "dev/sda", type: "BlockDevice" })).toMatch(/BlockDevice entries/);
    expect(entryProblem({ path: "p", type: "FIFO" })).toMatch(/FIFO/);
  });

  it("allows links that stay inside, resolving symlinks from their own directory and hard links from the root", () => {
    expect(entryProblem({ path: "a/b/link", type: "SymbolicLink", linkpath: "../c" })).toBeNull();
    expect(entryProblem({ path: "a/link", type: "SymbolicLink", linkpath: "../../x" })).toMatch(/points outside/);
    expect(entryProblem({ path: "link", type: "SymbolicLink", linkpath: "/etc/passwd" })).toMatch(/points outside/);
    expect(entryProblem({ path: "a/b/hard", type: "Link", linkpath: "a/c" })).toBeNull();
    expect(entryProblem({ path: "a/b/hard", type: "Link", linkpath: "../c" })).toMatch(/points outside/);
  });

  it("counts entries and declared bytes against the limits", () => {
    const b = new PackageBudget({ maxEntries: 2, maxUnpackedBytes: 10 });
    expect(b.add({ path: "a", type: "File", size: 4 })).toBeNull();
    expect(b.add({ path: "b", type: "File", size: 7 })).toMatch(/more than 10 bytes/);
    const c = new PackageBudget({ maxEntries: 2, maxUnpackedBytes: 100 });
    c.add({ path: "a", type: "File" });
    c.add({ path: "b", type: "File" });
    expect(c.add({ path: "c", type: "File" })).toMatch(/more than 2 entries/);
  });

  it("recognises gzip by its magic bytes", () => {
    expect(isGzip(Buffer.from([0x1f, 0x8b, 8]))).toBe(true);
    expect(isGzip(Buffer.from("ustar"))).toBe(false);
    expect(isGzip(Buffer.from([0x1f]))).toBe(false);
  });
});
