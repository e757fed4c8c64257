import { createHmac, randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import type { KeyPrincipal } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { generateJwtKey, type GatewayConfig, type JwtKey } from "../config";
import { TokenService } from "./tokens";

const oldKey = generateJwtKey("k-old");
const newKey = generateJwtKey("k-new");
const strangerKey = generateJwtKey("k-new"); // same kid, different key material

function cfg(overrides: Partial<GatewayConfig["jwt"]> = {}): GatewayConfig["jwt"] {
  return { keys: [oldKey, newKey], activeKid: "k-new", issuer: "iss-test", audience: "aud-test", clockSkewSeconds: 5, ttlSeconds: 900, ...overrides };
}

const principal: KeyPrincipal = { key_id: "key_01", org_id: "01ORG", org_name: "Acme", role: "member", project_id: "prj_1", space_id: "spc_1", name: "ci" };
const svc = new TokenService(cfg());
const now = () => Math.floor(Date.now() / 1000);

function claims(overrides: Record<string, unknown> = {}) {
  const t = now();
  return { sub: "key_01", org_id: "01ORG", role: "member", project_id: null, space_id: null, iss: "iss-test", aud: "aud-test", iat: t, exp: t + 600, jti: randomUUID(), ...overrides };
}

function sign(payload: object, key: JwtKey = newKey, header: Record<string, unknown> = { kid: key.kid }): string {
  return jwt.sign(payload, key.privateKey!, { algorithm: "RS256", header: { alg: "RS256", ...header } as jwt.JwtHeader });
}

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

function expect401(token: string) {
  let thrown: unknown;
  try {
    svc.verify(token);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(AppError);
  expect((thrown as AppError).code).toBe("UNAUTHENTICATED");
  expect((thrown as AppError).detail).toBe("Not authenticated");
}

describe("TokenService", () => {
  it("round-trips an issued token: RS256, active kid, all claims", () => {
    const { token, expiresIn } = svc.issue(principal);
    expect(expiresIn).toBe(900);
    const header = JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString());
    expect(header).toEqual({ alg: "RS256", typ: "JWT", kid: "k-new" });
    const p = svc.verify(token);
    expect(p).toMatchObject({ keyId: "key_01", orgId: "01ORG", role: "member", projectId: "prj_1", spaceId: "spc_1" });
  });

  it("accepts a token signed by the older configured key (rotation)", () => {
    expect(svc.verify(sign(claims(), oldKey)).orgId).toBe("01ORG");
  });

  it("a gateway that only lists the new key rejects old-key tokens (retirement)", () => {
    const retired = new TokenService(cfg({ keys: [newKey] }));
    expect(() => retired.verify(sign(claims(), oldKey))).toThrow("Not authenticated");
  });

  describe("attacks all answer 401 Not authenticated", () => {
    it("alg none", () => {
      expect401(`${b64({ alg: "none", typ: "JWT", kid: "k-new" })}.${b64(claims())}.`);
      expect401(`${b64({ alg: "none", typ: "JWT", kid: "k-new" })}.${b64(claims())}.${b64("x")}`);
    });

    it("HS256 signed with the RS public key as the HMAC secret (key confusion)", () => {
      const pem = newKey.publicKey.export({ type: "spki", format: "pem" }) as string;
      const head = b64({ alg: "HS256", typ: "JWT", kid: "k-new" });
      const body = b64(claims());
      const sig = createHmac("sha256", pem).update(`${head}.${body}`).digest("base64url");
      expect401(`${head}.${body}.${sig}`);
    });

    it("signed with a key we do not hold, under a known kid", () => {
      expect401(sign(claims(), strangerKey));
    });

    it("unknown kid, or no kid", () => {
      expect401(sign(claims(), newKey, { kid: "k-unknown" }));
      expect401(jwt.sign(claims(), newKey.privateKey!, { algorithm: "RS256" }));
    });

    it("expired (beyond the clock skew)", () => {
      const t = now();
      expect401(sign(claims({ iat: t - 700, exp: t - 10 })));
    });

    it("expired within the skew is still accepted", () => {
      const t = now();
      expect(svc.verify(sign(claims({ iat: t - 600, exp: t - 2 }))).orgId).toBe("01ORG");
    });

    it("nbf in the future", () => {
      expect401(sign(claims({ nbf: now() + 120 })));
    });

    it("wrong issuer / wrong audience", () => {
      expect401(sign(claims({ iss: "someone-else" })));
      expect401(sign(claims({ aud: "other-api" })));
    });

    it("tampered payload (role escalated after signing)", () => {
      const [h, , s] = svc.issue(principal).token.split(".");
      expect401(`${h}.${b64(claims({ role: "admin" }))}.${s}`);
    });

    it("missing exp, or a lifetime beyond the TTL ceiling", () => {
      const { exp: _e, ...noExp } = claims();
      expect401(sign(noExp));
      const t = now();
      expect401(sign(claims({ iat: t, exp: t + 3600 })));
    });

    it("missing required claims (org_id, role, jti) or an unknown role", () => {
      const { org_id: _o, ...noOrg } = claims();
      expect401(sign(noOrg));
      const { jti: _j, ...noJti } = claims();
      expect401(sign(noJti));
      expect401(sign(claims({ role: "superuser" })));
    });

    it("garbled tokens", () => {
      for (const t of ["", "abc", "a.b", "a.b.c.d", "....", "💥.💥.💥", `${b64("{")}.${b64("{")}.x`, "x".repeat(10_000)]) expect401(t);
    });

    it("a verified token is remembered only until it expires, and only byte for byte", () => {
      const short = new TokenService(cfg({ ttlSeconds: 60, clockSkewSeconds: 0 }));
      const t = now();
      const { token } = short.issue(principal, t - 50);
      expect(short.verify(token, t).orgId).toBe("01ORG");
      const rsa = jest.spyOn(jwt, "verify");
      try {
        expect(short.verify(token, t + 5).orgId).toBe("01ORG");
        expect(rsa).not.toHaveBeenCalled(); // served from the cache
      } finally {
        rsa.mockRestore();
      }
      expect(() => short.verify(token, t + 10)).toThrow("Not authenticated"); // exp reached: no cached pass
      const fresh = short.issue(principal, t).token;
      expect(short.verify(fresh, t).role).toBe(principal.role);
      const [h, , sig] = fresh.split(".");
      expect(() => short.verify(`${h}.${b64(claims({ role: "admin" }))}.${sig}`, t)).toThrow("Not authenticated");
    });

    it("a token stops working once it expires", () => {
      // The signature alone never outlives the TTL (15 min at most); revocation refuses earlier (auth/revoked-keys.ts).
      const short = new TokenService(cfg({ ttlSeconds: 60, clockSkewSeconds: 0 }));
      const { token } = short.issue(principal, now() - 61);
      expect(() => short.verify(token)).toThrow("Not authenticated");
    });
  });
});
