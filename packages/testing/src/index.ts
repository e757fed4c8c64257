export { createTestEnv, type TestEnv } from "./test-env";
export { createTestDatabase, testDatabaseName, type TestDatabase } from "./database";
export { waitFor, type WaitForOptions } from "./wait-for";
export { captureLogs, type CapturedLogs } from "./capture-logs";
export { testInfraUrls, checkInfra, LOCAL_DEFAULTS, ENV as TEST_INFRA_ENV, type TestInfraUrls } from "./infra";
export { deleteKeysWithPrefix, testRedisPrefix } from "./redis-keys";
export * from "./rabbit";
export { ensureManagementApi, AUTO_ENABLE_ENV as ENABLE_RABBITMQ_PLUGINS_ENV } from "./management";
export { rawTarball, type RawEntry } from "./tarballs";
