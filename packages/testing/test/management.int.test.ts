import { ensureManagementApi, ENABLE_RABBITMQ_PLUGINS_ENV, testInfraUrls } from "@pragma/testing";

/**
 * The guard that keeps global setup from enabling plugins on the wrong broker. The
 * enabling path itself is what `.ci/run` proves: it disables the plugins on the local
 * broker, then runs `npm test`, whose global setup must enable the management API.
 */
describe("ensureManagementApi on this machine", () => {
  jest.setTimeout(240_000);
  const urls = testInfraUrls();
  // Something local listens here, but it is PostgreSQL, not the node the RabbitMQ CLI reaches.
  const pgPort = Number(new URL(urls.databaseUrl).port || 5432);
  const notRabbit = `amqp://guest:guest@127.0.0.1:${pgPort}`;
  const silentApi = "http://guest:guest@127.0.0.1:1";

  it("does nothing when the API already answers", async () => {
    await expect(ensureManagementApi({ amqpUrl: urls.amqpUrl, mgmtUrl: urls.rabbitmqMgmtUrl })).resolves.toBe("answering");
  });

  it("refuses to change a local node whose AMQP port is not the URL's, naming both", async () => {
    const lines: string[] = [];
    const err = await ensureManagementApi({ amqpUrl: notRabbit, mgmtUrl: silentApi, log: (l) => lines.push(l) }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(new RegExp(`listens for AMQP on [0-9, ]+, not ${pgPort}`));
    expect(err?.message).toContain("RABBITMQ_NODENAME");
    expect(lines).toEqual([]); // never got as far as enabling
  });

  it(`${ENABLE_RABBITMQ_PLUGINS_ENV}=0: reports the missing API instead of enabling it`, async () => {
    const env = { ...process.env, [ENABLE_RABBITMQ_PLUGINS_ENV]: "0" };
    await expect(ensureManagementApi({ amqpUrl: notRabbit, mgmtUrl: silentApi, env })).rejects.toThrow(/forbids enabling it.*rabbitmq-plugins enable rabbitmq_management/);
  });

  it("leaves a local broker that is not running to checkInfra", async () => {
    await expect(ensureManagementApi({ amqpUrl: "amqp://guest:guest@127.0.0.1:1", mgmtUrl: silentApi })).resolves.toBe("broker down");
  });
});
