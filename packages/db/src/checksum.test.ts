import { createHash } from "node:crypto";
import { checksumMatches, migrationChecksum } from "./checksum";

describe("migrationChecksum", () => {
  it("is the lowercase sha256 hex of the exact bytes, as Prisma stores it", () => {
    const script = Buffer.from('-- CreateTable\nCREATE TABLE "a" ("id" TEXT);\n');
    const sum = migrationChecksum(script);
    expect(sum).toBe(createHash("sha256").update(script).digest("hex"));
    expect(sum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("changes when only whitespace changes", () => {
    expect(migrationChecksum("SELECT 1;\n")).not.toBe(migrationChecksum("SELECT 1;\n\n"));
  });
});

describe("checksumMatches", () => {
  const lf = Buffer.from("CREATE TABLE a (id int);\nCREATE TABLE b (id int);\n");
  const crlf = Buffer.from("CREATE TABLE a (id int);\r\nCREATE TABLE b (id int);\r\n");

  it("accepts the same bytes", () => {
    expect(checksumMatches(lf, migrationChecksum(lf))).toBe(true);
  });

  it("accepts a checkout whose line endings were converted either way", () => {
    expect(checksumMatches(crlf, migrationChecksum(lf))).toBe(true);
    expect(checksumMatches(lf, migrationChecksum(crlf))).toBe(true);
  });

  it("rejects edited content", () => {
    expect(checksumMatches(Buffer.from("CREATE TABLE a (id bigint);\n"), migrationChecksum(lf))).toBe(false);
  });
});
