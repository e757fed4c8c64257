import { providerRequests } from "@pragma/contracts";
import { handler, handlerTable, type RpcHandlers } from "@pragma/messaging";
import type { ProviderDeps } from "../domain/providers/deps";
import { abortPush, addPushChunk, beginPush, commitPush } from "../domain/providers/push-provider";
import { getArtifact, getBuild, getBuildLogs, getBuildSource, listBuilds, reportBuild } from "../domain/providers/manage-builds";
import { deployProvider, getDeployment, resolveDeployment } from "../domain/providers/deploy-provider";
import { deleteProvider, listProviders } from "../domain/providers/delete-provider";

/** Pushed providers (api.md §6): one line per request, contract in, use case out. */
export function providerHandlers(deps: ProviderDeps): RpcHandlers {
  const r = providerRequests;
  return handlerTable(
    handler(r.pushBegin, (q) => beginPush(deps, q)),
    handler(r.pushChunk, (q) => addPushChunk(deps, q)),
    handler(r.pushCommit, (q) => commitPush(deps, q)),
    handler(r.pushAbort, (q) => abortPush(deps, q)),
    handler(r.list, (q) => listProviders(deps, q)),
    handler(r.listBuilds, (q) => listBuilds(deps, q)),
    handler(r.getBuild, (q) => getBuild(deps, q)),
    handler(r.buildLogs, (q) => getBuildLogs(deps, q)),
    handler(r.deploy, (q) => deployProvider(deps, q)),
    handler(r.getDeployment, (q) => getDeployment(deps, q)),
    handler(r.delete, (q) => deleteProvider(deps, q)),
    handler(r.buildSource, (q) => getBuildSource(deps, q)),
    handler(r.reportBuild, (q) => reportBuild(deps, q)),
    handler(r.resolveDeployment, (q) => resolveDeployment(deps, q)),
    handler(r.artifact, (q) => getArtifact(deps, q)),
  );
}
