import { z } from "zod";
import {
  ApiKey,
  CreateApiKeyBody,
  CreateOrgBody,
  CreateProjectBody,
  CreatedApiKeyBody,
  CreateSpaceBody,
  Org,
  Project,
  RPC_QUEUES,
  Space,
  UpdateOrgBody,
  UpdateProjectBody,
  registryRequests,
} from "@pragma/contracts";
import { defineRoute, type AnyRoute } from "./route";
import type { GatewayDeps } from "./deps";
import { errorResponses } from "./openapi-helpers";
import { OrgIdParams, ProjectParams, queryFlag } from "./schemas";

const VerifyQuery = z.object({ verify: queryFlag("Connect to each database before saving; failure is 422 naming the entry.") });

const KeyParams = z.object({ org_id: z.string().min(1), key_id: z.string().min(1) });

/** 208 Already Reported: the client's create was a repeat, and the body is what is stored. */
const createdOrExisting = (created: boolean) => (created ? 201 : 208);

/**
 * The System API (§2, §3): org, project, space and API-key management. Org creation
 * needs the platform's server key; the rest also accept an admin token of that org.
 */
export function systemRoutes(deps: GatewayDeps): AnyRoute[] {
  const registry = <Q, R>(contract: Parameters<typeof deps.bus.call<Q, R>>[1], payload: Q) => deps.bus.call(RPC_QUEUES.registry, contract, payload);
  const orgAdmin = { kind: "org-admin-or-server-key" } as const;
  const common = errorResponses(401, 403, 404, 422, 429);

  return [
    defineRoute({
      method: "post",
      path: "/orgs",
      operationId: "createOrg",
      summary: "Create an organization (idempotent by org_id)",
      tags: ["system"],
      auth: { kind: "server-key" },
      body: CreateOrgBody,
      responses: {
        201: { description: "Created", schema: Org },
        208: { description: "Already existed: the stored organization", schema: Org },
        ...errorResponses(401, 409, 422),
      },
      handler: async ({ body, res }) => {
        const { created, org } = await registry(registryRequests.createOrg, body);
        res.status(createdOrExisting(created)).json(org);
      },
    }),
    defineRoute({
      method: "get",
      path: "/orgs/{org_id}",
      operationId: "getOrg",
      summary: "Get an organization",
      tags: ["system"],
      auth: orgAdmin,
      params: OrgIdParams,
      responses: { 200: { description: "The organization", schema: Org }, ...common },
      handler: async ({ params, res }) => {
        res.json(await registry(registryRequests.getOrg, { org_id: params.org_id }));
      },
    }),
    defineRoute({
      method: "patch",
      path: "/orgs/{org_id}",
      operationId: "updateOrg",
      summary: "Set an organization's rate limit (platform operators only)",
      tags: ["system"],
      // An org admin must not be able to raise its own limit.
      auth: { kind: "server-key" },
      params: OrgIdParams,
      body: UpdateOrgBody,
      responses: { 200: { description: "The updated organization", schema: Org }, ...errorResponses(401, 404, 422) },
      handler: async ({ params, body, res }) => {
        const org = await registry(registryRequests.updateOrg, { org_id: params.org_id, body });
        deps.tenancy.forgetOrg(params.org_id);
        res.json(org);
      },
    }),
    defineRoute({
      method: "post",
      path: "/orgs/{org_id}/projects",
      operationId: "createProject",
      summary: "Create a project with its default space (idempotent by abbreviation)",
      tags: ["system"],
      auth: orgAdmin,
      params: OrgIdParams,
      query: VerifyQuery,
      body: CreateProjectBody,
      responses: {
        201: { description: "Created", schema: Project, headers: { "X-Project-Id": "The project id", "X-Space-Id": "Its default space id" } },
        208: { description: "Already existed: the stored project", schema: Project, headers: { "X-Project-Id": "The project id", "X-Space-Id": "Its default space id" } },
        ...common,
      },
      handler: async ({ params, query, body, res }) => {
        const { created, project } = await registry(registryRequests.createProject, { org_id: params.org_id, body, verify: query.verify });
        res.setHeader("X-Project-Id", project.project_id);
        res.setHeader("X-Space-Id", project.space_id);
        res.status(createdOrExisting(created)).json(project);
      },
    }),
    defineRoute({
      method: "get",
      path: "/orgs/{org_id}/projects",
      operationId: "listProjects",
      summary: "List an organization's projects",
      tags: ["system"],
      auth: orgAdmin,
      params: OrgIdParams,
      responses: { 200: { description: "Projects", schema: z.array(Project) }, ...common },
      handler: async ({ params, res }) => {
        const { projects } = await registry(registryRequests.listProjects, { org_id: params.org_id });
        res.json(projects);
      },
    }),
    defineRoute({
      method: "get",
      path: "/orgs/{org_id}/projects/{project_id}",
      operationId: "getProject",
      summary: "Get a project",
      tags: ["system"],
      auth: orgAdmin,
      params: ProjectParams,
      responses: { 200: { description: "The project", schema: Project }, ...common },
      handler: async ({ params, res }) => {
        res.json(await registry(registryRequests.getProject, params));
      },
    }),
    defineRoute({
      method: "patch",
      path: "/orgs/{org_id}/projects/{project_id}",
      operationId: "updateProject",
      summary: "Update a project; `database` replaces every entry",
      tags: ["system"],
      auth: orgAdmin,
      params: ProjectParams,
      query: VerifyQuery,
      body: UpdateProjectBody,
      responses: { 200: { description: "The updated project", schema: Project }, ...common },
      handler: async ({ params, query, body, res }) => {
        res.json(await registry(registryRequests.updateProject, { ...params, body, verify: query.verify }));
      },
    }),
    defineRoute({
      method: "post",
      path: "/orgs/{org_id}/projects/{project_id}/spaces",
      operationId: "createSpace",
      summary: "Create a space in a project",
      tags: ["system"],
      auth: orgAdmin,
      params: ProjectParams,
      body: CreateSpaceBody,
      responses: { 201: { description: "Created", schema: Space }, ...common },
      handler: async ({ params, body, res }) => {
        const space = await registry(registryRequests.createSpace, { ...params, body });
        res.setHeader("X-Space-Id", space.space_id);
        res.status(201).json(space);
      },
    }),
    defineRoute({
      method: "get",
      path: "/orgs/{org_id}/projects/{project_id}/spaces",
      operationId: "listSpaces",
      summary: "List a project's spaces",
      tags: ["system"],
      auth: orgAdmin,
      params: ProjectParams,
      responses: { 200: { description: "Spaces", schema: z.array(Space) }, ...common },
      handler: async ({ params, res }) => {
        const { spaces } = await registry(registryRequests.listSpaces, params);
        res.json(spaces);
      },
    }),
    defineRoute({
      method: "post",
      path: "/orgs/{org_id}/api-keys",
      operationId: "createApiKey",
      summary: "Create an API key; the secret is shown only in this response",
      tags: ["system"],
      auth: orgAdmin,
      params: OrgIdParams,
      body: CreateApiKeyBody,
      responses: { 201: { description: "Created", schema: CreatedApiKeyBody }, ...common },
      handler: async ({ params, body, res }) => {
        const { api_key, key } = await registry(registryRequests.createApiKey, { org_id: params.org_id, body });
        res.setHeader("Cache-Control", "no-store");
        res.status(201).json({ ...key, api_key });
      },
    }),
    defineRoute({
      method: "get",
      path: "/orgs/{org_id}/api-keys",
      operationId: "listApiKeys",
      summary: "List API keys (never their secrets)",
      tags: ["system"],
      auth: orgAdmin,
      params: OrgIdParams,
      responses: { 200: { description: "Keys", schema: z.array(ApiKey) }, ...common },
      handler: async ({ params, res }) => {
        const { keys } = await registry(registryRequests.listApiKeys, { org_id: params.org_id });
        res.json(keys);
      },
    }),
    defineRoute({
      method: "delete",
      path: "/orgs/{org_id}/api-keys/{key_id}",
      operationId: "revokeApiKey",
      summary: "Revoke an API key (idempotent); tokens already issued from it are refused within a second on every gateway",
      tags: ["system"],
      auth: orgAdmin,
      params: KeyParams,
      responses: { 200: { description: "The revoked key", schema: ApiKey }, ...common },
      handler: async ({ params, res }) => {
        const key = await registry(registryRequests.revokeApiKey, params);
        // This process refuses the key's tokens before it answers; the others hear the registry's announcement.
        if (key.revoked_at) deps.revokedKeys.add(key.key_id, key.revoked_at);
        res.json(key);
      },
    }),
  ];
}
