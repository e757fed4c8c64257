import { chooseScope, chooseToken, EXPIRY_SKEW_MS, sameUrl } from "./session";

describe("chooseToken", () => {
  const now = Date.parse("2030-01-01T00:00:00Z");
  const fresh = { api_key: "pk_1", access_token: "stored", expires_at: new Date(now + 3600_000).toISOString() };

  it("prefers --token over the environment over stored credentials", () => {
    expect(chooseToken("flag", { PRAGMA_AUTH_TOKEN: "env" }, fresh, now)).toEqual({ source: "flag", token: "flag" });
    expect(chooseToken(undefined, { PRAGMA_AUTH_TOKEN: "env" }, fresh, now)).toEqual({ source: "env", token: "env" });
    expect(chooseToken(undefined, {}, fresh, now)).toEqual({ source: "stored", token: "stored" });
  });

  it("re-exchanges the stored key when the stored token is expired or about to expire", () => {
    const expired = { ...fresh, expires_at: new Date(now - 1).toISOString() };
    const almost = { ...fresh, expires_at: new Date(now + EXPIRY_SKEW_MS - 1).toISOString() };
    expect(chooseToken(undefined, {}, expired, now)).toEqual({ source: "exchange", apiKey: "pk_1" });
    expect(chooseToken(undefined, {}, almost, now)).toEqual({ source: "exchange", apiKey: "pk_1" });
  });

  it("has nothing without a flag, env or stored key", () => {
    expect(chooseToken(undefined, {}, undefined, now)).toEqual({ source: "none" });
    expect(chooseToken(undefined, { PRAGMA_AUTH_TOKEN: "" }, { access_token: "t" }, now)).toEqual({ source: "none" });
  });
});

describe("chooseScope", () => {
  const ctx = { api_url: "http://x", project: "prj_ctx", space: "spc_ctx" };
  it("takes flags, then env, then the context, field by field", () => {
    expect(chooseScope({ project: "prj_flag" }, { PRAGMA_SPACE_ID: "spc_env", PRAGMA_PROJECT_ID: "prj_env" }, ctx)).toEqual({ project: "prj_flag", space: "spc_env" });
    expect(chooseScope({}, {}, ctx)).toEqual({ project: "prj_ctx", space: "spc_ctx" });
    expect(chooseScope({}, {}, undefined)).toEqual({ project: undefined, space: undefined });
  });
});

describe("sameUrl", () => {
  it("ignores a trailing slash and case of the host, nothing else", () => {
    expect(sameUrl("http://Localhost:8080/", "http://localhost:8080")).toBe(true);
    expect(sameUrl("http://localhost:8080", "http://localhost:8081")).toBe(false);
  });
});
