import { generateJwtKey, jwtKeysJson, readConfig } from "./config";

const keys = jwtKeysJson([generateJwtKey("a"), generateJwtKey("b")]);
const read = (env: Record<string, string>) => readConfig(env, { onError: "throw" });

describe("gateway config", () => {
  it("production refuses to start without PRAGMA_SERVER_KEY or JWT_KEYS", () => {
    expect(() => read({ NODE_ENV: "production", JWT_KEYS: keys })).toThrow(/PRAGMA_SERVER_KEY: required in production/);
    expect(() => read({ NODE_ENV: "production", PRAGMA_SERVER_KEY: "x".repeat(32) })).toThrow(/JWT_KEYS: required in production/);
  });

  it("development generates what is missing and says so", () => {
    const c = read({ NODE_ENV: "development" });
    expect(c.serverKeyGenerated).toBe(true);
    expect(c.serverKey).toMatch(/^psk_/);
    expect(c.generated).toEqual(["PRAGMA_SERVER_KEY", "JWT_KEYS"]);
    expect(c.jwt.keys).toHaveLength(1);
  });

  it("the last key signs by default; JWT_ACTIVE_KID picks another; an unknown kid is refused", () => {
    expect(read({ JWT_KEYS: keys, PRAGMA_SERVER_KEY: "k".repeat(20) }).jwt.activeKid).toBe("b");
    expect(read({ JWT_KEYS: keys, JWT_ACTIVE_KID: "a", PRAGMA_SERVER_KEY: "k".repeat(20) }).jwt.activeKid).toBe("a");
    expect(() => read({ JWT_KEYS: keys, JWT_ACTIVE_KID: "zz" })).toThrow(/JWT_ACTIVE_KID/);
  });

  it("a verify-only key (no private_key) cannot be the active one", () => {
    const json = JSON.parse(jwtKeysJson([generateJwtKey("a")])) as { private_key?: string }[];
    delete json[0]!.private_key;
    expect(() => read({ JWT_KEYS: JSON.stringify(json) })).toThrow(/cannot sign|is not a kid/);
  });

  it("rejects a TTL above 15 minutes, bad JSON, mismatched pairs and duplicate kids", () => {
    expect(() => read({ TOKEN_TTL_SECONDS: "901" })).toThrow(/TOKEN_TTL_SECONDS/);
    expect(() => read({ JWT_KEYS: "not json" })).toThrow(/JWT_KEYS/);
    const a = JSON.parse(jwtKeysJson([generateJwtKey("a")]))[0];
    const b = JSON.parse(jwtKeysJson([generateJwtKey("b")]))[0];
    expect(() => read({ JWT_KEYS: JSON.stringify([{ ...a, public_key: b.public_key }]) })).toThrow(/do not form a pair/);
    expect(() => read({ JWT_KEYS: JSON.stringify([a, a]) })).toThrow(/duplicate kid/);
  });

  it("defaults: port 8080, empty Redis prefix", () => {
    const c = read({});
    expect(c.port).toBe(8080);
    expect(c.redisKeyPrefix).toBe("");
    expect(c.jwt.ttlSeconds).toBeLessThanOrEqual(900);
  });
});
