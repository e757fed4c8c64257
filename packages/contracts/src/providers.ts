import { z } from "zod";
import { defineMessage, defineRequest } from "./message";
import { timestamp } from "./common";
import { TypeDefinition } from "./worker-rpc";

/** api.md §6: ids of pushed providers; unique per org. */
export const PROVIDER_ID_RE = /^[a-z][a-z0-9-]{1,39}$/;
/** Built-in providers: their ids are reserved (409 on push), and their work keeps its own queues. */
export const BUILTIN_PROVIDERS = ["pragma", "postgres", "mysql"] as const;
export const isBuiltinProvider = (id: string): boolean => (BUILTIN_PROVIDERS as readonly string[]).includes(id);

/**
 * Routing key on pragma.work for a provider's events. Built-in providers keep one queue
 * each (work.<provider>); every pushed provider's events go to work.pushed, and the worker
 * dispatches each to the child process of its own (org, provider, deployed version): the
 * org travels in the event, so two orgs' providers with the same name never share a process.
 */
export const PUSHED_WORK_KEY = "pushed";
export const workRoutingKey = (provider: string): string => (isBuiltinProvider(provider) ? provider : PUSHED_WORK_KEY);

export const PROVIDER_QUEUES = {
  /** Builds of pushed code, taken by any provider worker. */
  builds: "provider-builds",
  /** Events of every pushed provider (see workRoutingKey). */
  pushedWork: "work.pushed",
} as const;

/**
 * Queue arguments, shared by every service that declares these queues (a mismatch is a
 * channel error). A build is never dead-lettered: the worker reports a failed build
 * itself, and a build that kills its worker three times is dropped (it stays "building").
 */
export const BUILD_QUEUE_ARGS = { "x-queue-type": "quorum", "x-delivery-limit": 3 } as const;

export const BUILD_STATUSES = ["pending", "building", "success", "failed"] as const;
export const BuildStatus = z.enum(BUILD_STATUSES);
export type BuildStatus = z.infer<typeof BuildStatus>;

const ProviderKey = z.object({ org_id: z.string(), provider_id: z.string() });
const VersionKey = ProviderKey.extend({ version: z.string() });

export const BuildInfo = z.object({
  provider_id: z.string(),
  version: z.string(),
  status: BuildStatus,
  error_message: z.string().nullable(),
  created_at: timestamp(),
});
export type BuildInfo = z.infer<typeof BuildInfo>;

export const PushAccepted = z.object({ version: z.string(), status: BuildStatus, message: z.string() });

export const DeploymentStatus = z.object({
  status: z.string(),
  version: z.string(),
  updated_at: timestamp(),
  healthy: z.boolean(),
});
export type DeploymentStatus = z.infer<typeof DeploymentStatus>;

export const ProviderSummary = z.object({
  provider_id: z.string(),
  current_version: z.string().nullable(),
  deployment_status: z.string().nullable(),
  updated_at: timestamp().nullable(),
  builtin: z.boolean().optional(),
});
export type ProviderSummary = z.infer<typeof ProviderSummary>;

export const DeleteProviderResult = z.object({
  provider_id: z.string(),
  deployment_deleted: z.boolean(),
  resources_deleted: z.number().int(),
});

/** Published by the store when a push is committed, straight to PROVIDER_QUEUES.builds (the default exchange). */
export const providerBuildRequested = defineMessage("providers.build.requested.v1", VersionKey, { exchange: "", routingKey: PROVIDER_QUEUES.builds });

/** What a build found in the bundle: the provider's types (as GET /resources/types lists them). */
export const BuildReport = VersionKey.extend({
  status: z.enum(["building", "success", "failed"]),
  error_message: z.string().nullable().optional(),
  log: z.string().optional(),
  /** The bundled JavaScript (success only); every worker fetches it from the store. */
  bundle: z.string().optional(),
  types: z.array(TypeDefinition).optional(),
});

/** Requests answered by the resource store (rpc.resource-store). */
export const providerRequests = {
  /** Starts an upload: checks the id, creates the build row (invisible until committed), answers its version. */
  pushBegin: defineRequest("providers.push.begin.v1", ProviderKey, z.object({ version: z.string() })),
  /** One piece of the tarball, in order (base64); the gateway never holds the whole file. */
  pushChunk: defineRequest("providers.push.chunk.v1", VersionKey.extend({ seq: z.number().int().min(0), data: z.string() }), z.object({})),
  pushCommit: defineRequest("providers.push.commit.v1", VersionKey.extend({ deploy: z.boolean().default(false) }), BuildInfo),
  /** Drops an upload that failed validation: nothing of it stays. */
  pushAbort: defineRequest("providers.push.abort.v1", VersionKey, z.object({})),
  list: defineRequest("providers.provider.list.v1", z.object({ org_id: z.string() }), z.object({ providers: z.array(ProviderSummary) })),
  listBuilds: defineRequest("providers.build.list.v1", ProviderKey, z.object({ builds: z.array(BuildInfo) })),
  getBuild: defineRequest("providers.build.get.v1", VersionKey, BuildInfo),
  buildLogs: defineRequest("providers.build.logs.v1", VersionKey, z.object({ log: z.string() })),
  deploy: defineRequest("providers.deployment.deploy.v1", ProviderKey.extend({ version: z.string().optional() }), DeploymentStatus),
  getDeployment: defineRequest("providers.deployment.get.v1", ProviderKey, DeploymentStatus),
  delete: defineRequest("providers.provider.delete.v1", ProviderKey.extend({ cascade: z.boolean().default(false) }), DeleteProviderResult),
  // ---- asked by provider workers ----
  /** One stored chunk of a pushed tarball and how many there are. */
  buildSource: defineRequest("providers.build.source.v1", VersionKey.extend({ seq: z.number().int().min(0) }), z.object({ data: z.string(), chunks: z.number().int() })),
  reportBuild: defineRequest("providers.build.report.v1", BuildReport, z.object({})),
  /** The org's deployed version of a provider, with its types; NOT_FOUND when none. */
  resolveDeployment: defineRequest("providers.deployment.resolve.v1", ProviderKey, z.object({ version: z.string(), types: z.array(TypeDefinition) })),
  artifact: defineRequest("providers.artifact.get.v1", VersionKey, z.object({ bundle: z.string() })),
} as const;

/** Answered by provider workers (rpc.provider-worker): runs (or starts) the version's process and pings it. */
export const pushedProviderPing = defineRequest("provider.pushed.ping.v1", VersionKey, z.object({ healthy: z.boolean(), message: z.string().nullable() }));
