import { RPC_QUEUES, registryRequests, type DatabaseEntryInput } from "@pragma/contracts";
import { newUlid } from "@pragma/ids";
import { createLogger } from "@pragma/logger";
import { connectBroker } from "@pragma/messaging";
import type { TestEnv } from "@pragma/testing";
import { readRegistryConfig as readConfig, startRegistry } from "../../../test/support/services";
import { TENANT } from "./helpers";

/**
 * Runs the real registry in-process and registers a project with `databases`, so the
 * worker fetches credentials the production way (registry.credentials.get.v1, decrypted
 * from the registry's store). TENANT is pointed at the new org/project/space so the
 * work messages the tests publish belong to it.
 */
export async function registerProject(env: TestEnv, databases: DatabaseEntryInput[]): Promise<{ close(): Promise<void> }> {
  const registry = await startRegistry(
    readConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", DATABASE_URL: env.databaseUrl, AMQP_URL: env.amqpUrl }, { onError: "throw" }),
  );
  const client = await connectBroker({ url: env.amqpUrl, logger: createLogger({ service: "test-client", level: "silent" }), connectionName: "test-client" });
  try {
    const orgId = newUlid();
    await client.request(RPC_QUEUES.registry, registryRequests.createOrg, {
      org_id: orgId,
      name: "Worker Tests",
      abbreviation: `w${orgId.slice(-8).toLowerCase()}`,
      admin_email: "ops@example.test",
      admin_name: "Ops",
      address: "1 Test St",
      state: "CA",
      country: "US",
      pin_code: "94000",
    });
    const { project } = await client.request(RPC_QUEUES.registry, registryRequests.createProject, {
      org_id: orgId,
      body: { name: "Worker", abbreviation: "worker", database: databases },
      verify: false,
    });
    Object.assign(TENANT, { org_id: orgId, project_id: project.project_id, space_id: project.space_id });
  } finally {
    await client.close();
  }
  return { close: () => registry.stop() };
}

export function database(
  over: Partial<DatabaseEntryInput> & Pick<DatabaseEntryInput, "db_type" | "db_name" | "port">,
): DatabaseEntryInput {
  return { host: "127.0.0.1", username: "root", password: "", connect_timeout_secs: 5, idle_timeout_secs: 10, max_open_connections: 4, max_idle_connections: 2, ...over };
}
