import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { AccessTokenClaims, type KeyPrincipal, type Role } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { MAX_TOKEN_TTL_SECONDS, type GatewayConfig, type JwtKey } from "../config";

/**
 * The one algorithm we sign and accept. It is fixed here and never read from a
 * token's header, which closes alg:none and the RS256→HS256 key-confusion attack.
 */
const ALGORITHM = "RS256" as const;

export interface Principal {
  keyId: string;
  orgId: string;
  role: Role;
  projectId: string | null;
  spaceId: string | null;
  tokenId: string;
  expiresAt: number;
}

/** Every token failure answers the same thing: the client learns nothing about which check failed. */
export const notAuthenticated = () => new AppError("UNAUTHENTICATED", "Not authenticated");

/** Verified tokens remembered per replica (a client sends the same token for its whole life). */
const VERIFIED_CACHE_MAX = 10_000;

export class TokenService {
  private readonly byKid: Map<string, JwtKey>;
  private readonly active: JwtKey;
  /**
   * Token string → what verifying it gave. The key is the whole token, signature included,
   * so only a byte-identical token we already verified hits; a hit is still checked for
   * expiry against the same clock and skew. Saves the RSA verification (the largest
   * single cost of an authenticated request) on every request but the first.
   */
  private readonly verified = new Map<string, Principal>();

  constructor(private readonly cfg: GatewayConfig["jwt"]) {
    this.byKid = new Map(cfg.keys.map((k) => [k.kid, k]));
    const active = this.byKid.get(cfg.activeKid);
    if (!active?.privateKey) throw new Error(`active JWT key "${cfg.activeKid}" cannot sign`);
    this.active = active;
  }

  get ttlSeconds(): number {
    return this.cfg.ttlSeconds;
  }

  issue(principal: KeyPrincipal, now = Math.floor(Date.now() / 1000)): { token: string; expiresIn: number } {
    const claims = {
      sub: principal.key_id,
      org_id: principal.org_id,
      role: principal.role,
      project_id: principal.project_id,
      space_id: principal.space_id,
      iat: now,
      exp: now + this.cfg.ttlSeconds,
    };
    const token = jwt.sign(claims, this.active.privateKey!, {
      algorithm: ALGORITHM,
      keyid: this.active.kid,
      issuer: this.cfg.issuer,
      audience: this.cfg.audience,
      jwtid: randomUUID(),
    });
    return { token, expiresIn: this.cfg.ttlSeconds };
  }

  /** Throws UNAUTHENTICATED for anything but a token we issued, unexpired, for this audience. */
  verify(token: string, nowSeconds?: number): Principal {
    const known = this.verified.get(token);
    if (known) {
      if ((nowSeconds ?? Date.now() / 1000) < known.expiresAt + this.cfg.clockSkewSeconds) return known;
      this.verified.delete(token); // expired: the full check below rejects it
    }
    const principal = this.verifyFully(token, nowSeconds);
    if (this.verified.size >= VERIFIED_CACHE_MAX) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, principal);
    return principal;
  }

  private verifyFully(token: string, nowSeconds?: number): Principal {
    // A JWS compact token is three base64url parts; reject anything else before parsing.
    if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token) || token.length > 8192) throw notAuthenticated();
    const decoded = jwt.decode(token, { complete: true });
    if (!decoded || typeof decoded.header !== "object") throw notAuthenticated();
    const { kid, alg } = decoded.header;
    if (alg !== ALGORITHM || typeof kid !== "string") throw notAuthenticated();
    const key = this.byKid.get(kid);
    if (!key) throw notAuthenticated();

    let payload: unknown;
    try {
      payload = jwt.verify(token, key.publicKey, {
        algorithms: [ALGORITHM],
        issuer: this.cfg.issuer,
        audience: this.cfg.audience,
        clockTolerance: this.cfg.clockSkewSeconds,
        // jsonwebtoken does not require exp by default; a token without one would never die.
        // The ceiling, not this replica's TTL: replicas (or a config change) with a shorter
        // TTL must not reject tokens another replica legitimately issued.
        maxAge: MAX_TOKEN_TTL_SECONDS + this.cfg.clockSkewSeconds,
        ...(nowSeconds !== undefined ? { clockTimestamp: nowSeconds } : {}),
      });
    } catch {
      throw notAuthenticated();
    }
    const claims = AccessTokenClaims.safeParse(payload);
    if (!claims.success) throw notAuthenticated();
    const c = claims.data;
    // Tokens we issue never outlive the 15-minute ceiling; a longer one was not minted by our rules.
    if (c.exp - c.iat > MAX_TOKEN_TTL_SECONDS) throw notAuthenticated();
    return Object.freeze({
      keyId: c.sub,
      orgId: c.org_id,
      role: c.role,
      projectId: c.project_id ?? null,
      spaceId: c.space_id ?? null,
      tokenId: c.jti,
      expiresAt: c.exp,
    });
  }
}
