import { LOCAL_DEFAULTS, exportInfraUrls, managementUrlFor, redact, testInfraUrls } from "./infra";

describe("testInfraUrls", () => {
  it("defaults to the local services", () => {
    expect(testInfraUrls({})).toEqual(LOCAL_DEFAULTS);
  });

  it("prefers PRAGMA_TEST_* over the services' own variables", () => {
    const env = {
      PRAGMA_TEST_DATABASE_URL: "postgresql://t@db:1/postgres",
      DATABASE_URL: "postgresql://app@db:2/app",
      PRAGMA_TEST_AMQP_URL: "amqp://u:p@mq:3",
      AMQP_URL: "amqp://x:y@mq:4",
      PRAGMA_TEST_RABBITMQ_MGMT_URL: "http://u:p@mq:5",
      PRAGMA_TEST_REDIS_URL: "redis://r:6",
      REDIS_URL: "redis://r:7",
    };
    expect(testInfraUrls(env)).toEqual({
      databaseUrl: "postgresql://t@db:1/postgres",
      amqpUrl: "amqp://u:p@mq:3",
      rabbitmqMgmtUrl: "http://u:p@mq:5",
      redisUrl: "redis://r:6",
    });
  });

  it("falls back to DATABASE_URL, AMQP_URL and REDIS_URL, deriving the management API from AMQP_URL", () => {
    const env = { DATABASE_URL: "postgresql://app@db:2/app", AMQP_URL: "amqp://x:y@mq:4/vh", REDIS_URL: "redis://r:7", PRAGMA_TEST_AMQP_URL: "" };
    expect(testInfraUrls(env)).toEqual({
      databaseUrl: "postgresql://app@db:2/app",
      amqpUrl: "amqp://x:y@mq:4/vh",
      rabbitmqMgmtUrl: "http://x:y@mq:15672",
      redisUrl: "redis://r:7",
    });
  });

  it("round-trips through the environment global setup exports", () => {
    const env: NodeJS.ProcessEnv = {};
    const urls = { databaseUrl: "postgresql://a@b:1/c", amqpUrl: "amqp://d:e@f:2", rabbitmqMgmtUrl: "http://d:e@f:3", redisUrl: "redis://g:4" };
    exportInfraUrls(urls, env);
    expect(testInfraUrls(env)).toEqual(urls);
  });
});

describe("managementUrlFor", () => {
  it("uses the broker's host and credentials on the plugin's port", () => {
    expect(managementUrlFor("amqp://bob:pw@broker.internal:5673/x")).toBe("http://bob:pw@broker.internal:15672");
    expect(managementUrlFor("amqps://broker")).toBe("https://guest:guest@broker:15672");
  });
});

describe("redact", () => {
  it("hides passwords in error messages", () => {
    expect(redact("amqp://guest:secret@h:5672")).toBe("amqp://guest:***@h:5672");
    expect(redact("redis://h:6379")).toBe("redis://h:6379");
  });
});
