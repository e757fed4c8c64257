import type { Request, RequestHandler } from "express";
import { HTTP_HEADERS, type Role } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { Logger } from "@pragma/logger";
import { notAuthenticated, type Principal, type TokenService } from "../auth/tokens";
import type { RevokedKeys } from "../auth/revoked-keys";
import { serverKeyMatches } from "../auth/server-key";
import { roleAllows } from "../auth/roles";
import type { TokenBucket, BucketLimit } from "../rate-limit/token-bucket";
import type { Tenancy } from "../domain/tenancy";
import type { GatewayMetrics } from "../metrics";

function headerString(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function bearerToken(req: Request): string | undefined {
  const h = headerString(req, "authorization");
  if (!h) return undefined;
  const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(h);
  return m?.[1];
}

/**
 * Verifies the bearer token; the principal comes from its claims only, never from
 * client-sent identity headers. A token of a revoked key is refused like any bad token.
 * While this process cannot vouch for its list of revoked keys (just started, or the broker
 * connection was re-made and the list not yet re-read) it waits up to `revocationWaitMs`
 * for it and then answers 503: it fails closed, since a revoked key's token must not pass.
 */
export function authenticate(tokens: TokenService, revoked: RevokedKeys, revocationWaitMs: number): RequestHandler {
  const admit = (principal: Principal) => {
    if (revoked.isRevoked(principal.keyId)) throw notAuthenticated();
    return principal;
  };
  return (req, res, next) => {
    const token = bearerToken(req);
    if (!token) throw notAuthenticated();
    const principal = tokens.verify(token);
    // The hot path stays synchronous: one boolean and one Map lookup.
    if (revoked.ready()) {
      res.locals.principal = admit(principal);
      next();
      return;
    }
    return revoked.whenReady(revocationWaitMs).then((ready) => {
      if (!ready) throw new AppError("UNAVAILABLE", "Cannot check token revocation right now; retry shortly");
      res.locals.principal = admit(principal);
      next();
    });
  };
}

export function requireServerKey(serverKey: string): RequestHandler {
  return (req, _res, next) => {
    if (!serverKeyMatches(serverKey, headerString(req, HTTP_HEADERS.serverKey))) throw notAuthenticated();
    next();
  };
}

export function requireRole(role: Role): RequestHandler {
  return (_req, res, next) => {
    const p = res.locals.principal;
    if (!p) throw notAuthenticated();
    if (!roleAllows(p.role, role)) throw new AppError("FORBIDDEN", `Role '${p.role}' cannot perform this action; it needs '${role}'`);
    next();
  };
}

export interface RateLimitDeps {
  bucket: TokenBucket;
  tenancy: Tenancy;
  defaults: BucketLimit;
  logger: Logger;
  metrics: Pick<GatewayMetrics, "rateLimitRejected" | "rateLimitUnavailable">;
}

/**
 * Per-org token bucket. When Redis cannot answer we fail open (the request goes on
 * without rate-limit headers) and log at most once per 10 s: the limit protects
 * capacity, it is not a security boundary, and authentication still applies. The
 * README explains the choice; /health/ready reports redis as down meanwhile.
 */
export function rateLimit(deps: RateLimitDeps): RequestHandler {
  let lastWarnAt = 0;
  return async (_req, res, next) => {
    const p = res.locals.principal;
    if (!p) throw notAuthenticated();
    let limit = deps.defaults;
    try {
      const org = await deps.tenancy.getOrg(p.orgId);
      if (org.rate_limit) limit = { requestsPerSecond: org.rate_limit.requests_per_second, burst: org.rate_limit.burst };
    } catch (err) {
      // The org's override is an optimisation of the limit, not a reason to refuse; the default applies.
      deps.logger.debug({ err, orgId: p.orgId }, "org rate limit lookup failed, using default");
    }
    let decision;
    try {
      decision = await deps.bucket.take(`ratelimit:org:${p.orgId}`, limit);
    } catch (err) {
      deps.metrics.rateLimitUnavailable();
      const now = Date.now();
      if (now - lastWarnAt > 10_000) {
        lastWarnAt = now;
        deps.logger.warn({ err: (err as Error).message }, "rate limiter unavailable, failing open");
      }
      next();
      return;
    }
    res.setHeader("RateLimit-Limit", String(decision.limit));
    res.setHeader("RateLimit-Remaining", String(decision.remaining));
    res.setHeader("RateLimit-Reset", String(decision.resetSeconds));
    if (!decision.allowed) {
      deps.metrics.rateLimitRejected();
      res.setHeader("Retry-After", String(decision.retryAfterSeconds));
      throw new AppError("RATE_LIMITED", "Rate limit exceeded");
    }
    next();
  };
}
