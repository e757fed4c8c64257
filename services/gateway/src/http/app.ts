import express, { type Express } from "express";
import "./locals";
import { assignRequestId, bindRequestContext } from "./request-id";
import { errorMiddleware } from "./errors";
import { fallback, mountRoutes, type AnyRoute } from "./route";
import { authenticate, rateLimit, requireRole, requireServerKey } from "./auth.middleware";
import { healthRoutes } from "./health.routes";
import { authRoutes } from "./auth.routes";
import { systemRoutes } from "./system.routes";
import { resourceRoutes } from "./resources.routes";
import { historyRoutes } from "./history.routes";
import { refreshRoutes } from "./refresh.routes";
import { watchRoutes } from "./watch.routes";
import { deadLetterRoutes } from "./dead-letter.routes";
import { autoApiRoutes } from "./auto-api.routes";
import { providerRoutes } from "./providers.routes";
import { openApiRoute } from "./openapi.routes";
import { consoleRouter } from "./console";
import type { GatewayDeps } from "./deps";
import { unredactedChild } from "@pragma/logger";
import { UNMATCHED_ROUTE } from "../metrics";

export const GATEWAY_VERSION = "0.1.0";

export function buildRoutes(deps: GatewayDeps): AnyRoute[] {
  const routes: AnyRoute[] = [];
  routes.push(
    ...healthRoutes(deps),
    openApiRoute(() => routes, GATEWAY_VERSION),
    ...authRoutes(deps),
    ...systemRoutes(deps),
    // Before resourceRoutes: /resources/{resource_id} would take "watch" for an id.
    ...watchRoutes(deps),
    ...resourceRoutes(deps),
    ...historyRoutes(deps),
    ...refreshRoutes(deps),
    ...deadLetterRoutes(deps),
    ...autoApiRoutes(deps),
    ...providerRoutes(deps),
  );
  return routes;
}

export function createApp(deps: GatewayDeps): Express {
  const app = express();
  app.disable("x-powered-by");
  // No ETag: express would hash every JSON body for it, and no client of this API sends
  // If-None-Match (answers are per-request state, not cacheable documents).
  app.set("etag", false);
  // Behind a load balancer the client address comes from X-Forwarded-For; we never trust it for identity.
  app.set("trust proxy", false);

  app.use(assignRequestId);
  // Fixed fields only (req.path carries no query string), so the line skips redaction.
  const accessLog = unredactedChild(deps.logger);
  app.use((req, res, next) => {
    const started = process.hrtime.bigint();
    res.on("finish", () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.metrics.httpRequest(req.method, res.locals.route ?? UNMATCHED_ROUTE, res.statusCode, ms / 1000);
      accessLog.info({ method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms), request_id: res.locals.requestId }, "request");
    });
    next();
  });
  app.use(express.json({ limit: deps.config.bodyLimitBytes, type: ["application/json", "application/*+json"] }));
  app.use(bindRequestContext);

  const routes = buildRoutes(deps);
  const router = express.Router();
  mountRoutes(router, routes, {
    authenticate: authenticate(deps.tokens, deps.revokedKeys, deps.config.rpcTimeoutMs),
    rateLimit: rateLimit({
      bucket: deps.bucket,
      tenancy: deps.tenancy,
      defaults: { requestsPerSecond: deps.config.rateLimit.requestsPerSecond, burst: deps.config.rateLimit.burst },
      logger: deps.logger,
      metrics: deps.metrics,
    }),
    requireRole,
    requireServerKey: requireServerKey(deps.config.serverKey),
  });
  app.use(router);
  // After the API routes (they win any clash), before the 404/405 fallback (it would answer /console/ itself).
  app.use(consoleRouter(deps.config.consoleDir));
  app.use(fallback(routes));
  app.use(errorMiddleware(deps.logger));
  return app;
}
