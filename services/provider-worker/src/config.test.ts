import { randomBytes } from "node:crypto";
import { readConfig } from "./config";

describe("worker config: encryption keys", () => {
  it("production refuses to start without the store's keys; development falls back to the published development key", () => {
    expect(() => readConfig({ NODE_ENV: "production" }, { onError: "throw" })).toThrow(/PRAGMA_ENCRYPTION_KEYS: required in production/);
    const keys = `k1:${randomBytes(32).toString("base64")}`;
    expect(readConfig({ NODE_ENV: "production", PRAGMA_ENCRYPTION_KEYS: keys }, { onError: "throw" }).encryption.activeKeyId).toBe("k1");
    expect(readConfig({}, { onError: "throw" }).encryption.fallback).toBe("development");
  });
});
