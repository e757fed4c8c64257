import { z } from "zod";
import { defineMessage, defineRequest } from "./message";
import { ULID_RE } from "@pragma/ids";
import { Role, slug, timestamp } from "./common";
import { TEXT_LIMITS as L, safeNonEmpty, safeText } from "./input-safety";
import { EXCHANGES } from "./topology";

export const CreateOrgBody = z.object({
  org_id: z.string().regex(ULID_RE, "must be a valid ULID (26 Crockford base32 characters, the first 0-7)"),
  name: safeNonEmpty(L.name),
  abbreviation: slug(),
  admin_email: z.string().max(L.email, `must be at most ${L.email} characters`).email("must be a valid email address"),
  admin_name: safeNonEmpty(L.name),
  address: safeNonEmpty(L.description),
  state: safeNonEmpty(L.short),
  country: safeNonEmpty(L.short),
  pin_code: safeNonEmpty(L.short),
});
export type CreateOrgBody = z.infer<typeof CreateOrgBody>;

export const RateLimitSetting = z.object({
  requests_per_second: z.number().int().positive(),
  burst: z.number().int().positive(),
});

/** As stored: no input limits here, so an org stored before a limit existed still reads back. */
export const Org = z.object({
  org_id: z.string(),
  name: z.string(),
  abbreviation: z.string(),
  admin_email: z.string(),
  admin_name: z.string(),
  address: z.string(),
  state: z.string(),
  country: z.string(),
  pin_code: z.string(),
  rate_limit: RateLimitSetting.nullable(),
  created_at: timestamp(),
  updated_at: timestamp(),
});
export type Org = z.infer<typeof Org>;

const DB_TYPE_ALIASES: Record<string, "postgres" | "mysql"> = {
  postgres: "postgres",
  postgresql: "postgres",
  mysql: "mysql",
  mariadb: "mysql",
};

export const DbType = z
  .string()
  .transform((v, ctx) => {
    const t = DB_TYPE_ALIASES[v.trim().toLowerCase()];
    if (!t) {
      ctx.addIssue({ code: "custom", message: "must be one of postgres, postgresql, mysql, mariadb" });
      return z.NEVER;
    }
    return t;
  });

const positiveInt = () => z.number().int("must be an integer").positive("must be a positive integer");

export const DatabaseEntryInput = z
  .object({
    host: safeNonEmpty(L.dbField),
    port: z
      .union([z.string(), z.number()])
      .transform((v) => String(v))
      .refine((v) => /^[0-9]{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535, "must be a port number 1..65535"),
    username: safeNonEmpty(L.dbField),
    password: safeText(L.dbPassword),
    db_name: safeNonEmpty(L.dbField),
    db_type: DbType,
    connect_timeout_secs: positiveInt(),
    idle_timeout_secs: positiveInt(),
    max_open_connections: positiveInt(),
    max_idle_connections: positiveInt(),
  })
  .superRefine((v, ctx) => {
    if (v.max_idle_connections > v.max_open_connections) {
      ctx.addIssue({ code: "custom", path: ["max_idle_connections"], message: "must be less than or equal to max_open_connections" });
    }
  });
export type DatabaseEntryInput = z.infer<typeof DatabaseEntryInput>;

/** A database entry as the API shows it: never the password. */
export const DatabaseEntry = z.object({
  host: z.string(),
  port: z.string(),
  username: z.string(),
  db_name: z.string(),
  db_type: z.enum(["postgres", "mysql"]),
  connect_timeout_secs: z.number().int(),
  idle_timeout_secs: z.number().int(),
  max_open_connections: z.number().int(),
  max_idle_connections: z.number().int(),
});
export type DatabaseEntry = z.infer<typeof DatabaseEntry>;

export const CreateProjectBody = z.object({
  name: safeNonEmpty(L.name),
  abbreviation: slug(),
  description: safeText(L.description).optional(),
  database: z.array(DatabaseEntryInput).min(1, "must contain at least one database"),
});
export type CreateProjectBody = z.infer<typeof CreateProjectBody>;

export const Project = z.object({
  project_id: z.string(),
  org_id: z.string(),
  space_id: z.string(),
  name: z.string(),
  abbreviation: z.string(),
  description: z.string().nullable(),
  database: z.array(DatabaseEntry),
  created_at: timestamp(),
  updated_at: timestamp(),
});
export type Project = z.infer<typeof Project>;

/** PATCH /orgs/{org_id}: only the rate limit is mutable; null clears it (the gateway's default applies). */
export const UpdateOrgBody = z.object({
  rate_limit: RateLimitSetting.nullable().optional(),
});
export type UpdateOrgBody = z.infer<typeof UpdateOrgBody>;

/** PATCH /orgs/{org_id}/projects/{project_id}: `database`, when present, replaces every entry (pools rebuild). */
export const UpdateProjectBody = z.object({
  name: safeNonEmpty(L.name).optional(),
  description: safeText(L.description).nullable().optional(),
  database: z.array(DatabaseEntryInput).min(1, "must contain at least one database").optional(),
});
export type UpdateProjectBody = z.infer<typeof UpdateProjectBody>;

export const CreateSpaceBody = z.object({
  name: safeNonEmpty(L.name),
  description: safeText(L.description).optional(),
});
export type CreateSpaceBody = z.infer<typeof CreateSpaceBody>;

export const Space = z.object({
  space_id: z.string(),
  project_id: z.string(),
  org_id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  is_default: z.boolean(),
  created_at: timestamp(),
});
export type Space = z.infer<typeof Space>;

export const CreateApiKeyBody = z.object({
  name: safeNonEmpty(L.name),
  role: Role,
  project_id: z.string().optional(),
  space_id: z.string().optional(),
});
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

export const ApiKey = z.object({
  key_id: z.string(),
  org_id: z.string(),
  name: z.string(),
  role: Role,
  project_id: z.string().nullable(),
  space_id: z.string().nullable(),
  prefix: z.string(),
  created_at: timestamp(),
  revoked_at: timestamp().nullable(),
});
export type ApiKey = z.infer<typeof ApiKey>;

/** What a verified API key grants: the claims the gateway puts in a token. */
export const KeyPrincipal = z.object({
  key_id: z.string(),
  org_id: z.string(),
  org_name: z.string(),
  role: Role,
  project_id: z.string().nullable(),
  space_id: z.string().nullable(),
  name: z.string(),
});
export type KeyPrincipal = z.infer<typeof KeyPrincipal>;

/** A registered database with its decrypted password: only ever in an RPC reply to a worker. */
export const DatabaseCredentials = DatabaseEntry.extend({ password: z.string() });
export type DatabaseCredentials = z.infer<typeof DatabaseCredentials>;

// ---- requests answered by the registry (queue rpc.registry) ----

export const registryRequests = {
  createOrg: defineRequest("registry.org.create.v1", CreateOrgBody, z.object({ created: z.boolean(), org: Org })),
  getOrg: defineRequest("registry.org.get.v1", z.object({ org_id: z.string() }), Org),
  createProject: defineRequest(
    "registry.project.create.v1",
    z.object({ org_id: z.string(), body: CreateProjectBody, verify: z.boolean().default(false) }),
    z.object({ created: z.boolean(), project: Project }),
  ),
  getProject: defineRequest("registry.project.get.v1", z.object({ org_id: z.string(), project_id: z.string() }), Project),
  /** Resolves the (project, space) a request runs in; NOT_FOUND when either is outside the org. */
  resolveScope: defineRequest(
    "registry.scope.resolve.v1",
    z.object({ org_id: z.string(), project_id: z.string(), space_id: z.string().nullable() }),
    z.object({ org_id: z.string(), project_id: z.string(), space_id: z.string() }),
  ),
  createApiKey: defineRequest(
    "registry.api-key.create.v1",
    z.object({ org_id: z.string(), body: CreateApiKeyBody }),
    z.object({ api_key: z.string(), key: ApiKey }),
  ),
  verifyApiKey: defineRequest("registry.api-key.verify.v1", z.object({ api_key: z.string() }), KeyPrincipal),
  updateOrg: defineRequest("registry.org.update.v1", z.object({ org_id: z.string(), body: UpdateOrgBody }), Org),
  listProjects: defineRequest("registry.project.list.v1", z.object({ org_id: z.string() }), z.object({ projects: z.array(Project) })),
  updateProject: defineRequest(
    "registry.project.update.v1",
    z.object({ org_id: z.string(), project_id: z.string(), body: UpdateProjectBody, verify: z.boolean().default(false) }),
    Project,
  ),
  createSpace: defineRequest("registry.space.create.v1", z.object({ org_id: z.string(), project_id: z.string(), body: CreateSpaceBody }), Space),
  listSpaces: defineRequest("registry.space.list.v1", z.object({ org_id: z.string(), project_id: z.string() }), z.object({ spaces: z.array(Space) })),
  listApiKeys: defineRequest("registry.api-key.list.v1", z.object({ org_id: z.string() }), z.object({ keys: z.array(ApiKey) })),
  /** Idempotent: revoking a revoked key answers the key with its first revoked_at. */
  revokeApiKey: defineRequest("registry.api-key.revoke.v1", z.object({ org_id: z.string(), key_id: z.string() }), ApiKey),
  /**
   * Keys revoked at or after `since`, across every org: the gateway rebuilds its in-memory
   * deny-list from this on start, on every broker reconnect and periodically.
   */
  listRevokedApiKeys: defineRequest(
    "registry.api-key.list-revoked.v1",
    z.object({ since: timestamp() }),
    z.object({ keys: z.array(z.object({ key_id: z.string(), revoked_at: timestamp() })) }),
  ),
  /** Decrypted credentials of a project's databases: only provider workers ask for these. */
  getCredentials: defineRequest(
    "registry.credentials.get.v1",
    z.object({ org_id: z.string(), project_id: z.string() }),
    z.object({ databases: z.array(DatabaseCredentials) }),
  ),
} as const;

// ---- events published by the registry (exchange pragma.events) ----

const onEvents = { exchange: EXCHANGES.events };

export const registryEvents = {
  orgCreated: defineMessage("registry.org.created.v1", z.object({ org: Org }), onEvents),
  projectCreated: defineMessage("registry.project.created.v1", z.object({ project: Project }), onEvents),
  projectUpdated: defineMessage("registry.project.updated.v1", z.object({ project: Project }), onEvents),
  /** Every gateway process drops tokens issued from this key at once (api.md §4.3). */
  apiKeyRevoked: defineMessage("registry.api-key.revoked.v1", z.object({ key_id: z.string(), org_id: z.string(), revoked_at: timestamp() }), onEvents),
} as const;
