/**
 * Bodies that exist only on the public HTTP API (the gateway's edge): they never
 * travel on the bus. The gateway validates with these and generates its OpenAPI
 * document from them.
 */
import { z } from "zod";
import { Role } from "./common";
import { ApiKey } from "./registry";

/** pragma's 422 list entry. */
export const ValidationIssueBody = z.object({
  loc: z.array(z.union([z.string(), z.number().int()])),
  msg: z.string(),
  type: z.string(),
});
export type ValidationIssueBody = z.infer<typeof ValidationIssueBody>;

/** Every error response: `detail` keeps pragma compatibility, `code` is from the closed set in @pragma/errors. */
export const ErrorBody = z.object({
  detail: z.union([z.string(), z.array(ValidationIssueBody), z.record(z.string(), z.unknown())]),
  code: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  request_id: z.string(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export const HealthBody = z.object({ status: z.literal("ok") });

export const DependencyStatus = z.object({
  status: z.enum(["up", "down"]),
  /** false for dependencies the gateway can run without (see the gateway README). */
  required: z.boolean(),
  latency_ms: z.number().optional(),
  error: z.string().optional(),
});
export type DependencyStatus = z.infer<typeof DependencyStatus>;

export const ReadinessBody = z.object({
  status: z.enum(["ok", "degraded", "unavailable"]),
  checks: z.record(z.string(), DependencyStatus),
  /** Names of the required dependencies that are down (present when status is "unavailable"). */
  down: z.array(z.string()).optional(),
});
export type ReadinessBody = z.infer<typeof ReadinessBody>;

export const TokenRequest = z.object({
  api_key: z.string().min(1, "must not be empty").max(512),
});
export type TokenRequest = z.infer<typeof TokenRequest>;

export const TokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal("bearer"),
  expires_in: z.number().int().positive(),
});
export type TokenResponse = z.infer<typeof TokenResponse>;

/** The claims of an access token the gateway issues (header: alg RS256, kid). */
export const AccessTokenClaims = z.object({
  /** The API key id the token was exchanged for. */
  sub: z.string().min(1),
  org_id: z.string().min(1),
  role: Role,
  project_id: z.string().nullable().optional(),
  space_id: z.string().nullable().optional(),
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  iat: z.number().int(),
  exp: z.number().int(),
  nbf: z.number().int().optional(),
  jti: z.string().min(1),
});
export type AccessTokenClaims = z.infer<typeof AccessTokenClaims>;

/** pragma's UserInfo plus our fields. */
export const UserInfo = z.object({
  user_id: z.string(),
  email: z.string().nullable(),
  organization_id: z.string(),
  organization_name: z.string().nullable(),
  role: Role,
  project_id: z.string().nullable(),
  space_id: z.string().nullable(),
});
export type UserInfo = z.infer<typeof UserInfo>;

/** The only response that ever shows an API key's secret. */
export const CreatedApiKeyBody = ApiKey.extend({
  api_key: z.string().describe("The secret (pk_…), shown once; only its hash is stored."),
});
export type CreatedApiKeyBody = z.infer<typeof CreatedApiKeyBody>;

/**
 * Header names of the public API (lower case, as Node and fetch give them), for the gateway
 * that reads them and the CLI and console that send them. The bus's own are HEADERS (./message.ts).
 */
export const HTTP_HEADERS = {
  /** Project to act in (defaults to the token's); the project-create answer sets it too. */
  projectId: "x-project-id",
  /** Space to act in (defaults to the token's, else the project's default space). */
  spaceId: "x-space-id",
  /** A caller's request id, kept if well formed, else minted; echoed on every answer. */
  requestId: "x-request-id",
  /** The System API key. */
  serverKey: "x-server-key",
  /** Makes POST /resources/apply safe to retry (draft-ietf-httpapi-idempotency-key-header). */
  idempotencyKey: "idempotency-key",
  /** The watch stream's resume position (SSE's own header). */
  lastEventId: "last-event-id",
} as const;
