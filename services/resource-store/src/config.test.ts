import { randomBytes } from "node:crypto";
import { configSchema } from "./config";

describe("store config: encryption keys", () => {
  it("production refuses to start without keys; otherwise the keys given, or the published development key", () => {
    const missing = configSchema.safeParse({ NODE_ENV: "production" });
    expect(missing.success).toBe(false);
    expect(JSON.stringify(missing.error?.issues)).toMatch(/PRAGMA_ENCRYPTION_KEYS/);
    const keys = `old:${randomBytes(32).toString("base64")},new:${randomBytes(32).toString("base64")}`;
    const given = configSchema.parse({ NODE_ENV: "production", PRAGMA_ENCRYPTION_KEYS: keys });
    expect([given.encryption.activeKeyId, given.encryption.fallback, [...given.encryption.keys.keys()]]).toEqual(["new", null, ["old", "new"]]);
    expect(configSchema.parse({ PRAGMA_ENCRYPTION_KEYS: keys, PRAGMA_ENCRYPTION_ACTIVE_KEY: "old" }).encryption.activeKeyId).toBe("old");
    expect(configSchema.safeParse({ PRAGMA_ENCRYPTION_KEYS: keys, PRAGMA_ENCRYPTION_ACTIVE_KEY: "gone" }).success).toBe(false);
    expect(configSchema.parse({ NODE_ENV: "development" }).encryption.fallback).toBe("development");
  });
});
