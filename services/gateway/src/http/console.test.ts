import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import express from "express";
import { createLogger } from "@pragma/logger";
import { readConfig, DEFAULT_CONSOLE_DIR } from "../config";
import { CONSOLE_CSP, consoleRouter } from "./console";
import { errorMiddleware } from "./errors";
import { fallback, type AnyRoute } from "./route";

/** The console router as createApp mounts it: before the routes' 404/405 fallback. */
async function serve(distDir: string) {
  const app = express();
  app.use(consoleRouter(distDir));
  app.use(fallback([{ method: "get", path: "/resources/" } as AnyRoute]));
  app.use(errorMiddleware(createLogger({ service: "test", level: "silent" })));
  const server = app.listen(0);
  await new Promise((r) => server.once("listening", r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, close: () => new Promise((r) => server.close(r)) };
}

describe("the console under /console/", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "console-dist-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("answers 503 saying how to build when the dist is missing, with the CSP", async () => {
    const s = await serve(join(dir, "missing"));
    try {
      const res = await fetch(`${s.base}/console/`);
      expect(res.status).toBe(503);
      expect(res.headers.get("content-security-policy")).toBe(CONSOLE_CSP);
      expect((await res.json()).detail).toMatch(/not built.*npm run build/);
    } finally {
      await s.close();
    }
  });

  it("serves index.html for the app's deep links, assets as files, a missing asset as 404, and leaves the API's 404/405 alone", async () => {
    const dist = join(dir, "dist");
    mkdirSync(join(dist, "assets"), { recursive: true });
    writeFileSync(join(dist, "index.html"), "<!doctype html><title>console</title>");
    writeFileSync(join(dist, "assets", "app-1.js"), "console.log(1)");
    const s = await serve(dist);
    try {
      const redirect = await fetch(`${s.base}/console`, { redirect: "manual" });
      expect(redirect.status).toBe(301);
      expect(redirect.headers.get("location")).toBe("/console/");
      for (const path of ["/console/", "/console/resources/resource%3Apragma_config_a", "/console/dead-letters"]) {
        const res = await fetch(`${s.base}${path}`);
        expect(res.status).toBe(200);
        expect(await res.text()).toContain("<title>console</title>");
        const csp = res.headers.get("content-security-policy")!;
        expect(csp).toContain("script-src 'self'");
        expect(csp).not.toContain("unsafe-inline");
        expect(csp).toContain("frame-ancestors 'none'");
      }
      const asset = await fetch(`${s.base}/console/assets/app-1.js`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get("cache-control")).toContain("immutable");
      expect((await fetch(`${s.base}/console/assets/gone.js`)).status).toBe(404);
      expect((await fetch(`${s.base}/nope`)).status).toBe(404);
      expect((await fetch(`${s.base}/resources/`, { method: "DELETE" })).status).toBe(405);
    } finally {
      await s.close();
    }
  });

  it("takes the dist from CONSOLE_DIR, by default next to the gateway", () => {
    expect(DEFAULT_CONSOLE_DIR).toMatch(/packages[/\\]console[/\\]dist$/);
    expect(readConfig({ NODE_ENV: "test" }).consoleDir).toBe(DEFAULT_CONSOLE_DIR);
    expect(readConfig({ NODE_ENV: "test", CONSOLE_DIR: "/srv/console" }).consoleDir).toBe("/srv/console");
  });
});
