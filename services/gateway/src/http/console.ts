import { existsSync } from "node:fs";
import { join } from "node:path";
import express, { type RequestHandler, type Router } from "express";
import { AppError } from "@pragma/errors";

/** Where the console lives; the 404/405 fallback leaves this prefix to the router below. */
export const CONSOLE_PATH = "/console";

/**
 * The console's Content-Security-Policy: everything from this origin, nothing inline (the
 * Vite build emits only files), no plugins, no framing, no <base> rewriting.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join("; ");

const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader("Content-Security-Policy", CONSOLE_CSP);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Referrer-Policy", "no-referrer");
  res.setHeader("X-Frame-Options", "DENY");
  next();
};

/**
 * Serves the built console (packages/console/dist) under /console/: its hashed assets
 * cached for good, every other path answered with index.html (the app routes in the
 * browser), and 503 saying how to build it when the build is missing.
 */
export function consoleRouter(distDir: string): Router {
  const router = express.Router();
  const index = join(distDir, "index.html");
  router.use(CONSOLE_PATH, securityHeaders);
  router.get(CONSOLE_PATH, (req, res, next) => {
    // "/console" → "/console/": the app's relative asset URLs need the trailing slash.
    if (req.path === CONSOLE_PATH) return res.redirect(301, `${CONSOLE_PATH}/`);
    next();
  });
  router.use(CONSOLE_PATH, (_req, _res, next) => {
    if (!existsSync(index)) {
      throw new AppError("UNAVAILABLE", `The web console is not built (no ${index}): run \`npm run build\` (or \`pnpm --filter @pragma/console build\`) and reload.`);
    }
    next();
  });
  router.use(
    `${CONSOLE_PATH}/assets`,
    express.static(join(distDir, "assets"), { immutable: true, maxAge: "365d", index: false }),
    // A missing asset is a plain 404, not index.html (a stale page asking for an old bundle).
    (_req: unknown, _res: unknown, next: (err?: unknown) => void) => next(new AppError("NOT_FOUND", "Not Found")),
  );
  router.use(CONSOLE_PATH, express.static(distDir, { index: false, maxAge: 0 }));
  // The SPA fallback: a deep link such as /console/resources/x is the app's, not a file.
  router.get(`${CONSOLE_PATH}/{*rest}`, (_req, res) => {
    res.setHeader("Cache-Control", "no-cache");
    res.sendFile(index);
  });
  return router;
}
