import type { Request, RequestHandler, Response, Router } from "express";
import { z } from "zod";
import { HTTP_HEADERS, type Role } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { Principal } from "../auth/tokens";
import { parseWith, rejectUnsafeInput } from "./validate";

export type Method = "get" | "post" | "put" | "patch" | "delete";

/**
 * Who may call a route. `org-admin-or-server-key` is the System API's delegated
 * form: the platform operator's key, or an admin token of the org named in the path.
 */
export type RouteAuth = { kind: "none" } | { kind: "server-key" } | { kind: "bearer"; role: Role } | { kind: "org-admin-or-server-key" };

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  headers?: Record<string, string>;
  contentType?: string;
}

export interface RouteInput<B, Q, P> {
  body: B;
  query: Q;
  params: P;
  req: Request;
  res: Response;
  /** Present on bearer routes (and on org-admin-or-server-key routes called with a token). */
  principal: Principal | undefined;
}

/** One route: its transport binding, its OpenAPI description and its validation all come from this object. */
export interface RouteSpec<B = unknown, Q = unknown, P = unknown> {
  method: Method;
  /** OpenAPI-style path (`/orgs/{org_id}`); converted for express when mounted. */
  path: string;
  operationId: string;
  summary: string;
  tags: string[];
  auth: RouteAuth;
  body?: z.ZodType<B>;
  query?: z.ZodObject;
  params?: z.ZodObject;
  /** Documented request headers (tenancy headers). */
  headers?: z.ZodObject;
  responses: Record<number, ResponseSpec>;
  handler: (input: RouteInput<B, Q, P>) => Promise<void>;
}

export type AnyRoute = RouteSpec<any, any, any>;

export function defineRoute<B = undefined, Q = Record<string, never>, P = Record<string, never>>(spec: RouteSpec<B, Q, P>): RouteSpec<B, Q, P> {
  return spec;
}

export function toExpressPath(path: string): string {
  return path.replace(/\{([a-z_][a-z0-9_]*)\}/gi, ":$1");
}

/** Matches a concrete path against an OpenAPI-style template (for 405 detection). */
export function templateRegex(path: string): RegExp {
  const trimmed = path.replace(/\/+$/, "");
  const escaped = trimmed
    .split(/(\{[a-z_][a-z0-9_]*\})/i)
    .map((part) => (/^\{.*\}$/.test(part) ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${escaped}/?$`);
}

export interface AuthMiddlewares {
  authenticate: RequestHandler;
  rateLimit: RequestHandler;
  requireRole(role: Role): RequestHandler;
  requireServerKey: RequestHandler;
}

function authChain(auth: RouteAuth, mw: AuthMiddlewares): RequestHandler[] {
  switch (auth.kind) {
    case "none":
      return [];
    case "server-key":
      return [mw.requireServerKey];
    case "bearer":
      return [mw.authenticate, mw.rateLimit, mw.requireRole(auth.role)];
    case "org-admin-or-server-key": {
      const asAdmin = [mw.authenticate, mw.rateLimit, mw.requireRole("admin")];
      return [
        (req, res, next) => {
          if (req.headers[HTTP_HEADERS.serverKey] !== undefined) return mw.requireServerKey(req, res, next);
          runChain(asAdmin, req, res, next);
        },
        (req, res, next) => {
          const p = res.locals.principal;
          // Tenancy rule: another org's id answers 404, never 403, so ids cannot be probed.
          if (p && p.orgId !== req.params.org_id) throw new AppError("NOT_FOUND", "Organization not found");
          next();
        },
      ];
    }
  }
}

function runChain(chain: RequestHandler[], req: Request, res: Response, done: (err?: unknown) => void): void {
  let i = 0;
  const step = (err?: unknown): void => {
    if (err !== undefined && err !== null) return done(err);
    const h = chain[i++];
    if (!h) return done();
    try {
      const r = h(req, res, step) as unknown;
      if (r instanceof Promise) r.catch(done);
    } catch (e) {
      done(e);
    }
  };
  step();
}

export function mountRoutes(router: Router, routes: AnyRoute[], mw: AuthMiddlewares): void {
  for (const route of routes) {
    const handler: RequestHandler = async (req, res) => {
      rejectUnsafeInput(req.params, "path");
      rejectUnsafeInput(req.query, "query");
      rejectUnsafeInput(req.body, "body");
      const params = route.params ? parseWith(route.params, req.params, "path") : req.params;
      const query = route.query ? parseWith(route.query, req.query, "query") : {};
      const body = route.body ? parseWith(route.body, req.body, "body") : undefined;
      await route.handler({ body, query, params, req, res, principal: res.locals.principal });
    };
    // One router layer per route, running its auth chain and handler itself: each layer
    // express walks through costs more than the function call it wraps (router `next`,
    // per-layer bookkeeping), and these four ran on every authenticated request.
    const chain = [...authChain(route.auth, mw), handler];
    const template = route.path;
    router[route.method](toExpressPath(route.path), (req, res, next) => {
      res.locals.route = template;
      runChain(chain, req, res, next);
    });
  }
}

/** Unknown path: 404; known path with another method: 405 with Allow. */
export function fallback(routes: AnyRoute[]): RequestHandler {
  const table = routes.map((r) => ({ re: templateRegex(r.path), method: r.method.toUpperCase() }));
  return (req, res) => {
    const allowed = new Set(table.filter((t) => t.re.test(req.path)).map((t) => t.method));
    if (allowed.size === 0) throw new AppError("NOT_FOUND", "Not Found");
    if (allowed.has("GET")) allowed.add("HEAD");
    res.setHeader("Allow", [...allowed].sort().join(", "));
    throw new AppError("METHOD_NOT_ALLOWED", "Method Not Allowed");
  };
}
