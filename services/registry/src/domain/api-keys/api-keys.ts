import { createHash, randomBytes } from "node:crypto";
import { registryEvents, type ApiKey, type CreateApiKeyBody, type KeyPrincipal } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { newId } from "@pragma/ids";
import type { ApiKeyRepository, OrgRepository, ProjectRepository, SpaceRepository, Transactor } from "../ports";

/** Only a hash is stored: a leaked table grants nothing, and the secret is shown once. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export interface ApiKeyDeps {
  orgs: OrgRepository;
  projects: ProjectRepository;
  spaces: SpaceRepository;
  apiKeys: ApiKeyRepository;
}

export async function createApiKey(deps: ApiKeyDeps, input: { org_id: string; body: CreateApiKeyBody }): Promise<{ api_key: string; key: ApiKey }> {
  const { org_id, body } = input;
  if (!(await deps.orgs.findById(org_id))) throw new AppError("NOT_FOUND", "Organization not found");

  let projectId = body.project_id ?? null;
  const spaceId = body.space_id ?? null;
  if (projectId !== null && !(await deps.projects.findById(org_id, projectId))) throw new AppError("NOT_FOUND", "Project not found");
  if (spaceId !== null) {
    const space = await deps.spaces.findById(spaceId);
    if (!space || space.org_id !== org_id || (projectId !== null && space.project_id !== projectId)) throw new AppError("NOT_FOUND", "Space not found");
    // A space implies its project; storing both keeps tokens from having a space without a project.
    projectId = space.project_id;
  }

  const secret = `pk_${randomBytes(32).toString("base64url")}`;
  const key = await deps.apiKeys.insert({
    key_id: newId("apiKey"),
    org_id,
    name: body.name,
    role: body.role,
    project_id: projectId,
    space_id: spaceId,
    prefix: secret.slice(0, 10),
    secret_hash: hashSecret(secret),
  });
  return { api_key: secret, key };
}

const NOT_AUTHENTICATED = () => new AppError("UNAUTHENTICATED", "Not authenticated");

export async function verifyApiKey(deps: { apiKeys: ApiKeyRepository }, apiKey: string): Promise<KeyPrincipal> {
  if (!apiKey.startsWith("pk_") || apiKey.length > 200) throw NOT_AUTHENTICATED();
  const found = await deps.apiKeys.findByHash(hashSecret(apiKey));
  if (!found || found.key.revoked_at !== null) throw NOT_AUTHENTICATED();
  const { key, org_name } = found;
  return { key_id: key.key_id, org_id: key.org_id, org_name, role: key.role, project_id: key.project_id, space_id: key.space_id, name: key.name };
}

export async function listApiKeys(deps: { orgs: OrgRepository; apiKeys: ApiKeyRepository }, orgId: string): Promise<ApiKey[]> {
  if (!(await deps.orgs.findById(orgId))) throw new AppError("NOT_FOUND", "Organization not found");
  return deps.apiKeys.listByOrg(orgId);
}

/**
 * Marks the key revoked and, in the same transaction, announces it
 * (registry.api-key.revoked.v1), so every gateway process refuses the key's tokens at once
 * rather than at their expiry. Revoking again changes nothing and announces nothing.
 */
export async function revokeApiKey(deps: { tx: Transactor }, input: { org_id: string; key_id: string }): Promise<ApiKey> {
  return deps.tx.run(async (tx) => {
    const found = await tx.apiKeys.revoke(input.org_id, input.key_id);
    if (!found) throw new AppError("NOT_FOUND", "API key not found");
    const { key, revokedNow } = found;
    if (revokedNow) await tx.events.add(registryEvents.apiKeyRevoked, { key_id: key.key_id, org_id: key.org_id, revoked_at: key.revoked_at! }, { orgId: key.org_id });
    return key;
  });
}

/**
 * Keys revoked at or after `since` (the gateway asks for one token lifetime's worth). A
 * `since` more than a day back is refused: no token lives that long, and the answer must
 * stay small.
 */
export async function listRevokedApiKeys(deps: { apiKeys: ApiKeyRepository }, since: string, now = Date.now()): Promise<{ key_id: string; revoked_at: string }[]> {
  const at = new Date(since);
  if (now - at.getTime() > 86_400_000) throw new AppError("VALIDATION_FAILED", [{ loc: ["since"], msg: "must be within the last 24 hours", type: "value_error" }]);
  return deps.apiKeys.listRevokedSince(at);
}
