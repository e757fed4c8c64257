import { autoRequests } from "@pragma/contracts";
import { handler, type RpcHandlers } from "@pragma/messaging";
import { deleteRows, describeOpenApi, describeSchema, insertRows, readRows, readRowsJson, updateRows, type AutoApiDeps } from "../auto-api/auto-api";

/** The Auto API's request handlers (api.md §7), answered by any worker replica on rpc.provider-worker. */
export function autoApiHandlers(deps: AutoApiDeps): RpcHandlers {
  return {
    [autoRequests.schema.type]: handler(autoRequests.schema, (t) => describeSchema(deps, t)),
    [autoRequests.openapi.type]: handler(autoRequests.openapi, (t) => describeOpenApi(deps, t, t.base_path)),
    [autoRequests.read.type]: handler(autoRequests.read, (t) => readRows(deps, t)),
    [autoRequests.readJson.type]: handler(autoRequests.readJson, (t) => readRowsJson(deps, t)),
    [autoRequests.insert.type]: handler(autoRequests.insert, (t) => insertRows(deps, t)),
    [autoRequests.update.type]: handler(autoRequests.update, (t) => updateRows(deps, t)),
    [autoRequests.delete.type]: handler(autoRequests.delete, (t) => deleteRows(deps, t)),
  };
}
