import { z } from "zod";
import {
  BuildInfo,
  DeleteProviderResult,
  DeploymentStatus,
  PROVIDER_ID_RE,
  ProviderSummary,
  PushAccepted,
  RPC_QUEUES,
  providerRequests,
  type RequestContract,
} from "@pragma/contracts";
import { defineRoute, type AnyRoute } from "./route";
import type { GatewayDeps } from "./deps";
import { errorResponses } from "./openapi-helpers";
import { queryFlag } from "./schemas";
import { receivePush } from "./provider-push";

const ProviderParams = z.object({ provider_id: z.string().regex(PROVIDER_ID_RE, `must match ${PROVIDER_ID_RE.source}`) });
const VersionParams = ProviderParams.extend({ version: z.string().regex(/^\d{8}\.\d{6}$/, "must be YYYYMMDD.HHMMSS") });
const DeployBody = z.object({ version: z.string().optional() }).optional();
const DeleteQuery = z.object({ cascade: queryFlag("Delete the provider's resources through their lifecycle first (its delete hooks run)") });

/**
 * Pushed providers (api.md §6). The org is the token's: every store call is keyed by it,
 * so another org's provider is simply not found (404).
 */
export function providerRoutes(deps: GatewayDeps): AnyRoute[] {
  const member = { kind: "bearer", role: "member" } as const;
  const admin = { kind: "bearer", role: "admin" } as const;
  const common = errorResponses(401, 403, 404, 422, 429, 503, 504);
  const tags = ["providers"];
  const store = <Q, R>(contract: RequestContract<Q, R>, payload: Q) => deps.bus.call(RPC_QUEUES.resourceStore, contract, payload);
  return [
    defineRoute({
      method: "post",
      path: "/providers/{provider_id}/push",
      operationId: "pushProvider",
      summary: "Upload a provider package (multipart/form-data: file part `code`, a .tar.gz; optional field deploy=true); builds asynchronously",
      tags,
      auth: admin,
      params: ProviderParams,
      responses: { 202: { description: "Build queued", schema: PushAccepted }, ...common, ...errorResponses(400, 409, 413) },
      handler: async ({ params, req, res, principal }) => {
        const key = { org_id: principal!.orgId, provider_id: params.provider_id };
        // Id checks (reserved, being deleted) answer before a byte of the body is read.
        const { version } = await store(providerRequests.pushBegin, key);
        const vkey = { ...key, version };
        try {
          const { deploy } = await receivePush(req, deps.config.providerPush, (seq, data) => store(providerRequests.pushChunk, { ...vkey, seq, data: data.toString("base64") }).then(() => undefined));
          const build = await store(providerRequests.pushCommit, { ...vkey, deploy });
          res.status(202).json({ version: build.version, status: build.status, message: `Build ${build.version} queued${deploy ? "; it is deployed when it succeeds" : ""}` });
        } catch (err) {
          await store(providerRequests.pushAbort, vkey).catch(() => undefined);
          // The client may still be sending: it gets its answer, and the connection closes.
          res.setHeader("Connection", "close");
          throw err;
        }
      },
    }),
    defineRoute({
      method: "get",
      path: "/providers",
      operationId: "listProviders",
      summary: "The org's pushed providers, and the built-in ones (builtin: true)",
      tags,
      auth: member,
      responses: { 200: { description: "Providers", schema: z.array(ProviderSummary) }, ...common },
      handler: async ({ res, principal }) => {
        res.json((await store(providerRequests.list, { org_id: principal!.orgId })).providers);
      },
    }),
    defineRoute({
      method: "get",
      path: "/providers/{provider_id}/builds",
      operationId: "listProviderBuilds",
      summary: "The latest 10 builds, newest first",
      tags,
      auth: member,
      params: ProviderParams,
      responses: { 200: { description: "Builds", schema: z.array(BuildInfo) }, ...common },
      handler: async ({ params, res, principal }) => {
        res.json((await store(providerRequests.listBuilds, { org_id: principal!.orgId, provider_id: params.provider_id })).builds);
      },
    }),
    defineRoute({
      method: "get",
      path: "/providers/{provider_id}/builds/{version}",
      operationId: "getProviderBuild",
      summary: "One build's status",
      tags,
      auth: member,
      params: VersionParams,
      responses: { 200: { description: "Build", schema: BuildInfo }, ...common },
      handler: async ({ params, res, principal }) => {
        res.json(await store(providerRequests.getBuild, { org_id: principal!.orgId, ...params }));
      },
    }),
    defineRoute({
      method: "get",
      path: "/providers/{provider_id}/builds/{version}/logs",
      operationId: "getProviderBuildLogs",
      summary: "The build's whole output",
      tags,
      auth: member,
      params: VersionParams,
      responses: { 200: { description: "Build log", contentType: "text/plain" }, ...common },
      handler: async ({ params, res, principal }) => {
        const { log } = await store(providerRequests.buildLogs, { org_id: principal!.orgId, ...params });
        res.type("text/plain").send(log);
      },
    }),
    defineRoute({
      method: "post",
      path: "/providers/{provider_id}/deploy",
      operationId: "deployProvider",
      summary: "Deploy a successful build (default: the latest); an older version is the rollback",
      tags,
      auth: admin,
      params: ProviderParams,
      body: DeployBody,
      responses: { 202: { description: "Deployed", schema: DeploymentStatus }, ...common, ...errorResponses(400, 409) },
      handler: async ({ params, body, res, principal }) => {
        const version = body?.version;
        res.status(202).json(await store(providerRequests.deploy, { org_id: principal!.orgId, provider_id: params.provider_id, ...(version ? { version } : {}) }));
      },
    }),
    defineRoute({
      method: "get",
      path: "/providers/{provider_id}/deployment",
      operationId: "getProviderDeployment",
      summary: "The deployed version; healthy when a worker runs it and it answered a ping",
      tags,
      auth: member,
      params: ProviderParams,
      responses: { 200: { description: "Deployment", schema: DeploymentStatus }, ...common },
      handler: async ({ params, res, principal }) => {
        res.json(await store(providerRequests.getDeployment, { org_id: principal!.orgId, provider_id: params.provider_id }));
      },
    }),
    defineRoute({
      method: "delete",
      path: "/providers/{provider_id}",
      operationId: "deleteProvider",
      summary: "Delete a provider (409 while it has resources, unless cascade=true)",
      tags,
      auth: admin,
      params: ProviderParams,
      query: DeleteQuery,
      responses: { 200: { description: "Deleted", schema: DeleteProviderResult }, ...common, ...errorResponses(409) },
      handler: async ({ params, query, res, principal }) => {
        res.json(await store(providerRequests.delete, { org_id: principal!.orgId, provider_id: params.provider_id, cascade: query.cascade }));
      },
    }),
  ];
}
