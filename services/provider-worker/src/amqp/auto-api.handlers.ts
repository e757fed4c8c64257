import { autoRequests } from "@pragma/contracts";
import { handler, handlerTable, type RpcHandlers } from "@pragma/messaging";
import { deleteRows, describeOpenApi, describeSchema, insertRows, readRows, readRowsBody, updateRows, type AutoApiDeps } from "../auto-api/auto-api";

/** The Auto API's request handlers (api.md §7), answered by any worker replica on rpc.provider-worker. */
export function autoApiHandlers(deps: AutoApiDeps): RpcHandlers {
  return handlerTable(
    handler(autoRequests.schema, (t) => describeSchema(deps, t)),
    handler(autoRequests.openapi, (t) => describeOpenApi(deps, t, t.base_path)),
    handler(autoRequests.read, (t) => readRows(deps, t)),
    handler(autoRequests.readBody, (t) => readRowsBody(deps, t)),
    handler(autoRequests.insert, (t) => insertRows(deps, t)),
    handler(autoRequests.update, (t) => updateRows(deps, t)),
    handler(autoRequests.delete, (t) => deleteRows(deps, t)),
  );
}
