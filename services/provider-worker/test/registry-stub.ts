import { RPC_QUEUES, registryRequests, type DatabaseCredentials } from "@pragma/contracts";
import { createLogger } from "@pragma/logger";
import { connectBroker, handler, rpcQueueTopology, type Broker } from "@pragma/messaging";

/**
 * Answers registry.credentials.get.v1 on rpc.registry with fixed credentials: the
 * registry's contract, not its storage, is what the worker depends on. (Swap for the
 * in-process registry service once tests can create orgs/projects through it.)
 */
export async function serveCredentials(amqpUrl: string, databases: DatabaseCredentials[]): Promise<{ broker: Broker; close(): Promise<void> }> {
  const broker = await connectBroker({ url: amqpUrl, logger: createLogger({ service: "registry-stub", level: "silent" }), connectionName: "registry-stub" });
  await broker.addTopology(rpcQueueTopology(RPC_QUEUES.registry));
  await broker.serve(RPC_QUEUES.registry, {
    [registryRequests.getCredentials.type]: handler(registryRequests.getCredentials, async () => ({ databases })),
  });
  return { broker, close: () => broker.close() };
}

export function credentials(over: Partial<DatabaseCredentials> & Pick<DatabaseCredentials, "db_type" | "db_name" | "port">): DatabaseCredentials {
  return { host: "127.0.0.1", username: "root", password: "", connect_timeout_secs: 5, idle_timeout_secs: 10, max_open_connections: 4, max_idle_connections: 2, ...over };
}
