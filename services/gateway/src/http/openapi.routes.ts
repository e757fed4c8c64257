import { buildOpenApiDocument } from "./openapi";
import { defineRoute, type AnyRoute } from "./route";

/** Built once at start-up from the final route table (including this route). */
export function openApiRoute(allRoutes: () => AnyRoute[], version: string): AnyRoute {
  let doc: unknown;
  return defineRoute({
    method: "get",
    path: "/openapi.json",
    operationId: "openapi",
    summary: "This API's OpenAPI 3.1 document",
    tags: ["meta"],
    auth: { kind: "none" },
    responses: { 200: { description: "OpenAPI 3.1 document" } },
    handler: async ({ res }) => {
      doc ??= buildOpenApiDocument(allRoutes(), { version });
      res.json(doc);
    },
  });
}
