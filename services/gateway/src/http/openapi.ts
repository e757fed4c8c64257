import { OpenAPIRegistry, OpenApiGeneratorV31 } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import * as contracts from "@pragma/contracts";
import type { AnyRoute } from "./route";

/** Schemas shown as named components (the rest are inlined where used). */
const NAMED: Record<string, z.ZodType> = {
  ErrorBody: contracts.ErrorBody,
  ValidationIssue: contracts.ValidationIssueBody,
  Org: contracts.Org,
  CreateOrgBody: contracts.CreateOrgBody,
  UpdateOrgBody: contracts.UpdateOrgBody,
  Project: contracts.Project,
  CreateProjectBody: contracts.CreateProjectBody,
  UpdateProjectBody: contracts.UpdateProjectBody,
  Space: contracts.Space,
  CreateSpaceBody: contracts.CreateSpaceBody,
  ApiKey: contracts.ApiKey,
  CreateApiKeyBody: contracts.CreateApiKeyBody,
  CreatedApiKey: contracts.CreatedApiKeyBody,
  TokenRequest: contracts.TokenRequest,
  TokenResponse: contracts.TokenResponse,
  UserInfo: contracts.UserInfo,
  Resource: contracts.Resource,
  ApplyResourceBody: contracts.ApplyResourceBody,
  ResourceStatus: contracts.ResourceStatus,
  Health: contracts.HealthBody,
  Readiness: contracts.ReadinessBody,
};

let namedCache: Map<z.ZodType, z.ZodType> | undefined;

/**
 * Copies of the named schemas carrying `meta({id})`, which the generator turns into
 * components and $refs. Made once: zod's global registry refuses a second schema
 * with the same id. (extendZodWithOpenApi would not help here: the contracts'
 * schemas exist before any patch could run.)
 */
function namedSchemas(): Map<z.ZodType, z.ZodType> {
  namedCache ??= new Map(Object.entries(NAMED).map(([id, schema]) => [schema, schema.meta({ id })]));
  return namedCache;
}

function security(route: AnyRoute): Record<string, string[]>[] {
  switch (route.auth.kind) {
    case "none":
      return [];
    case "server-key":
      return [{ serverKey: [] }];
    case "bearer":
      return [{ bearerAuth: [] }];
    case "org-admin-or-server-key":
      return [{ serverKey: [] }, { bearerAuth: [] }];
  }
}

/**
 * The OpenAPI 3.1 document, generated from the very route table and zod schemas the
 * gateway mounts and validates with, so the document cannot drift from the code.
 */
export function buildOpenApiDocument(routes: AnyRoute[], info: { version: string }): ReturnType<OpenApiGeneratorV31["generateDocument"]> {
  const registry = new OpenAPIRegistry();
  const named = namedSchemas();
  const ref = <S extends z.ZodType>(s: S): S => (named.get(s) as S | undefined) ?? s;

  registry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "Access token from POST /auth/token (RS256, at most 15 minutes).",
  });
  registry.registerComponent("securitySchemes", "serverKey", {
    type: "apiKey",
    in: "header",
    name: "X-Server-Key",
    description: "The platform operator's system key (System API).",
  });

  for (const route of routes) {
    const responses: Record<string, { description: string; headers?: Record<string, { description: string; schema: { type: "string" } }>; content?: Record<string, { schema: z.ZodType }> }> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      responses[status] = {
        description: spec.description,
        ...(spec.headers
          ? { headers: Object.fromEntries(Object.entries(spec.headers).map(([h, d]) => [h, { description: d, schema: { type: "string" as const } }])) }
          : {}),
        ...(spec.schema ? { content: { [spec.contentType ?? "application/json"]: { schema: ref(spec.schema) } } } : {}),
      };
    }
    registry.registerPath({
      method: route.method,
      path: route.path,
      operationId: route.operationId,
      summary: route.summary,
      tags: route.tags,
      security: security(route),
      request: {
        ...(route.params ? { params: route.params } : {}),
        ...(route.query ? { query: route.query } : {}),
        ...(route.headers ? { headers: route.headers } : {}),
        ...(route.body ? { body: { required: true, content: { "application/json": { schema: ref(route.body) } } } } : {}),
      },
      responses,
    });
  }

  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: "3.1.0",
    info: {
      title: "pragma control plane",
      version: info.version,
      description: "Public HTTP API of the pragma control plane, served by the gateway.",
    },
    servers: [{ url: "/" }],
  });
}
