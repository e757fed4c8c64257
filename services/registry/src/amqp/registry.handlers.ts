import { registryRequests as r } from "@pragma/contracts";
import { handler, handlerTable, type RpcHandlers } from "@pragma/messaging";
import type { RegistryDeps } from "../domain/ports";
import { createOrg } from "../domain/orgs/create-org";
import { getOrg } from "../domain/orgs/get-org";
import { updateOrg } from "../domain/orgs/update-org";
import { createProject } from "../domain/projects/create-project";
import { getProject, listProjects } from "../domain/projects/get-project";
import { updateProject } from "../domain/projects/update-project";
import { resolveScope } from "../domain/spaces/resolve-scope";
import { createSpace, listSpaces } from "../domain/spaces/spaces";
import { createApiKey, listApiKeys, listRevokedApiKeys, revokeApiKey, verifyApiKey } from "../domain/api-keys/api-keys";
import { getCredentials } from "../domain/credentials/get-credentials";

/** Request type -> use case. The broker has already validated each payload against its contract. */
export function registryHandlers(deps: RegistryDeps): RpcHandlers {
  return handlerTable(
    handler(r.createOrg, (p) => createOrg(deps, p)),
    handler(r.getOrg, (p) => getOrg(deps, p.org_id)),
    handler(r.updateOrg, (p) => updateOrg(deps, p.org_id, p.body)),
    handler(r.createProject, (p) => createProject(deps, p)),
    handler(r.getProject, (p) => getProject(deps, p.org_id, p.project_id)),
    handler(r.listProjects, async (p) => ({ projects: await listProjects(deps, p.org_id) })),
    handler(r.updateProject, (p) => updateProject(deps, p)),
    handler(r.resolveScope, (p) => resolveScope(deps, p)),
    handler(r.createSpace, (p) => createSpace(deps, p)),
    handler(r.listSpaces, async (p) => ({ spaces: await listSpaces(deps, p) })),
    handler(r.createApiKey, (p) => createApiKey(deps, p)),
    handler(r.verifyApiKey, (p) => verifyApiKey(deps, p.api_key)),
    handler(r.listApiKeys, async (p) => ({ keys: await listApiKeys(deps, p.org_id) })),
    handler(r.revokeApiKey, (p) => revokeApiKey(deps, p)),
    handler(r.listRevokedApiKeys, async (p) => ({ keys: await listRevokedApiKeys(deps, p.since) })),
    handler(r.getCredentials, (p) => getCredentials(deps, p)),
  );
}
