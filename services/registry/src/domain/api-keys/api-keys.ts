import { createHash, randomBytes } from "node:crypto";
import type { ApiKey, CreateApiKeyBody, KeyPrincipal } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { newId } from "@pragma/ids";
import type { ApiKeyRepository, OrgRepository, ProjectRepository, SpaceRepository } from "../ports";

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

export async function revokeApiKey(deps: { apiKeys: ApiKeyRepository }, input: { org_id: string; key_id: string }): Promise<ApiKey> {
  const key = await deps.apiKeys.revoke(input.org_id, input.key_id);
  if (!key) throw new AppError("NOT_FOUND", "API key not found");
  return key;
}
