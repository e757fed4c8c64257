import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { rawTarball } from "@pragma/testing";
import { safeUnpack } from "../src/pushed/safe-unpack";

/**
 * The worker checks the stored tarball again while it unpacks (the gateway's checks are
 * not its only guard): a hostile entry fails the build and nothing lands outside the
 * build directory.
 */
describe("safeUnpack", () => {
  let root: string;
  let dir: string;
  let outside: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(tmpdir(), "unpack-test-"));
    dir = path.join(root, "a", "b", "build");
    outside = path.join(root, "a");
    require("node:fs").mkdirSync(dir, { recursive: true });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const limits = { maxEntries: 20, maxUnpackedBytes: 64 * 1024 };
  const unpack = (bytes: Buffer) => {
    const file = path.join(root, "p.tgz");
    writeFileSync(file, bytes);
    return safeUnpack(file, dir, limits, () => undefined);
  };

  it("unpacks a good package", async () => {
    await expect(unpack(rawTarball([{ path: "package.json", body: "{}" }, { path: "src/index.js", body: "x" }, { path: "l", type: "SymbolicLink", linkpath: "src/index.js" }]))).resolves.toBe(3);
    expect(readdirSync(dir).sort()).toEqual(["l", "package.json", "src"]);
  });

  it.each([
    ["..", rawTarball([{ path: "../../evil", body: "x" }]), /not allowed/],
    ["absolute", rawTarball([{ path: "/tmp/pragma-unpack-evil-absolute", body: "x" }]), /absolute/],
    ["symlink out then write through it", rawTarball([{ path: "l", type: "SymbolicLink", linkpath: "../.." }, { path: "l/evil", body: "x" }]), /points outside/],
    ["device", rawTarball([{ path: "d", type: "BlockDevice" }]), /BlockDevice/],
    ["entries", rawTarball(Array.from({ length: 30 }, (_, i) => ({ path: `f${i}`, body: "x" }))), /more than 20 entries/],
    ["bomb", rawTarball([{ path: "z", body: Buffer.alloc(1024 * 1024) }]), /unpacks to more than/],
    ["not gzip", randomBytes(100), /gzip/],
  ])("refuses %s and writes nothing outside", async (_n, bytes, message) => {
    await expect(unpack(bytes)).rejects.toThrow(message);
    expect(readdirSync(outside).sort()).toEqual(["b"]);
    expect(readdirSync(path.join(outside, "b"))).toEqual(["build"]);
    expect(existsSync(path.join(root, "evil"))).toBe(false);
    expect(existsSync("/tmp/pragma-unpack-evil-absolute")).toBe(false);
  });
});
