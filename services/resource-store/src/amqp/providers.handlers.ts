import { providerRequests } from "@pragma/contracts";
import { handler, type RpcHandlers } from "@pragma/messaging";
import type { ProviderDeps } from "../domain/providers/deps";
import { abortPush, addPushChunk, beginPush, commitPush } from "../domain/providers/push-provider";
import { getArtifact, getBuild, getBuildLogs, getBuildSource, listBuilds, reportBuild } from "../domain/providers/manage-builds";
import { deployProvider, getDeployment, resolveDeployment } from "../domain/providers/deploy-provider";
import { deleteProvider, listProviders } from "../domain/providers/delete-provider";

/** Pushed providers (api.md §6): one line per request, contract in, use case out. */
export function providerHandlers(deps: ProviderDeps): RpcHandlers {
  const r = providerRequests;
  return {
    [r.pushBegin.type]: handler(r.pushBegin, (q) => beginPush(deps, q)),
    [r.pushChunk.type]: handler(r.pushChunk, (q) => addPushChunk(deps, q)),
    [r.pushCommit.type]: handler(r.pushCommit, (q) => commitPush(deps, q)),
    [r.pushAbort.type]: handler(r.pushAbort, (q) => abortPush(deps, q)),
    [r.list.type]: handler(r.list, (q) => listProviders(deps, q)),
    [r.listBuilds.type]: handler(r.listBuilds, (q) => listBuilds(deps, q)),
    [r.getBuild.type]: handler(r.getBuild, (q) => getBuild(deps, q)),
    [r.buildLogs.type]: handler(r.buildLogs, (q) => getBuildLogs(deps, q)),
    [r.deploy.type]: handler(r.deploy, (q) => deployProvider(deps, q)),
    [r.getDeployment.type]: handler(r.getDeployment, (q) => getDeployment(deps, q)),
    [r.delete.type]: handler(r.delete, (q) => deleteProvider(deps, q)),
    [r.buildSource.type]: handler(r.buildSource, (q) => getBuildSource(deps, q)),
    [r.reportBuild.type]: handler(r.reportBuild, (q) => reportBuild(deps, q)),
    [r.resolveDeployment.type]: handler(r.resolveDeployment, (q) => resolveDeployment(deps, q)),
    [r.artifact.type]: handler(r.artifact, (q) => getArtifact(deps, q)),
  };
}
