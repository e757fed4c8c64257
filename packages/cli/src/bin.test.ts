import { execFileSync } from "node:child_process";
import { accessSync, constants, readFileSync } from "node:fs";
import path from "node:path";

/**
 * `npx pragma` from the checkout runs the root package.json's `bin`, the file the build
 * writes (npm test builds before jest); npx and a global install exec it directly, so it
 * must exist, be executable and start with a shebang.
 */
describe("the pragma command from the checkout", () => {
  const root = path.resolve(__dirname, "../../..");
  const rootPkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { bin?: Record<string, string> };
  const cliPkg = JSON.parse(readFileSync(path.resolve(__dirname, "../package.json"), "utf8")) as { bin: Record<string, string> };

  it("the root package exposes the CLI package's bin as `pragma`", () => {
    expect(rootPkg.bin?.pragma).toBe(path.posix.join("packages/cli", cliPkg.bin.pragma!));
  });

  it("the built bin is executable and runs", () => {
    const bin = path.join(root, rootPkg.bin!.pragma!);
    expect(() => accessSync(bin, constants.X_OK)).not.toThrow();
    expect(readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node")).toBe(true);
    expect(execFileSync(bin, ["--version"], { encoding: "utf8" }).trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
