import { randomBytes } from "node:crypto";
import { readConfig } from "./config";

describe("readConfig", () => {
  it("refuses to start in production without encryption keys", () => {
    expect(() => readConfig({ NODE_ENV: "production" }, { onError: "throw" })).toThrow(/PRAGMA_ENCRYPTION_KEYS: required in production/);
  });

  it("generates an ephemeral key in development", () => {
    const c = readConfig({ NODE_ENV: "development" }, { onError: "throw" });
    expect(c.encryption.ephemeralKey).toBe(true);
    expect(c.encryption.keys.get(c.encryption.activeKeyId)).toHaveLength(32);
    expect(c.databaseSchema).toBe("registry");
  });

  it("defaults the active key to the last listed and checks an explicit one exists", () => {
    const keys = `old:${randomBytes(32).toString("base64")},new:${randomBytes(32).toString("base64")}`;
    expect(readConfig({ PRAGMA_ENCRYPTION_KEYS: keys }, { onError: "throw" }).encryption.activeKeyId).toBe("new");
    expect(readConfig({ PRAGMA_ENCRYPTION_KEYS: keys, PRAGMA_ENCRYPTION_ACTIVE_KEY: "old" }, { onError: "throw" }).encryption.activeKeyId).toBe("old");
    expect(() => readConfig({ PRAGMA_ENCRYPTION_KEYS: keys, PRAGMA_ENCRYPTION_ACTIVE_KEY: "gone" }, { onError: "throw" })).toThrow(/PRAGMA_ENCRYPTION_ACTIVE_KEY/);
  });
});
