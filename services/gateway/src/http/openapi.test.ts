import { buildOpenApiDocument } from "./openapi";
import { buildRoutes } from "./app";
import type { GatewayDeps } from "./deps";

describe("OpenAPI document", () => {
  const routes = buildRoutes({} as GatewayDeps);
  const doc = buildOpenApiDocument(routes, { version: "t" }) as unknown as {
    openapi: string;
    paths: Record<string, Record<string, { operationId: string; requestBody?: unknown }>>;
  };

  it("is 3.1 and lists every mounted route under its method, with a unique operationId", () => {
    expect(doc.openapi).toBe("3.1.0");
    for (const r of routes) expect(doc.paths[r.path]?.[r.method]?.operationId).toBe(r.operationId);
    expect(new Set(routes.map((r) => r.operationId)).size).toBe(routes.length);
  });

  it("documents a request body exactly where the route validates one", () => {
    for (const r of routes) expect(doc.paths[r.path]![r.method]!.requestBody !== undefined).toBe(r.body !== undefined);
  });

  it("can be built twice (zod's registry refuses duplicate ids)", () => {
    expect(() => buildOpenApiDocument(routes, { version: "t" })).not.toThrow();
  });
});
