/**
 * AMQP_URL with several nodes (a RabbitMQ cluster): the connection moves to the next
 * URL when an attempt fails or an open connection is lost. Two vhosts of the local
 * broker stand in for two nodes, so the test can see where the connection went.
 */
import { closeConnections, createVhost, listConnections, waitFor, waitForConnections, type TestVhost } from "@pragma/testing";
import { admin, echo, startBroker } from "./helpers";
import { handler, rpcQueueTopology } from "../src";

jest.setTimeout(60_000);

let a: TestVhost;
let b: TestVhost;

beforeAll(async () => {
  a = await createVhost("messaging-failover-a");
  b = await createVhost("messaging-failover-b");
});

afterAll(async () => {
  await a?.dispose();
  await b?.dispose();
});

it("a node that refuses connections is skipped at start-up", async () => {
  // Port 1 refuses at once; whichever URL the broker starts on, it ends up on the live one.
  const { broker, logs } = await startBroker(`amqp://guest:guest@127.0.0.1:1/x,${a.amqpUrl}`, { connectionName: "failover-start" });
  try {
    await waitForConnections(a.vhost, 1);
    expect(broker.isConnected()).toBe(true);
    await broker.addTopology(rpcQueueTopology("q.failover-start"));
    await broker.serve("q.failover-start", { [echo.type]: handler(echo, async (q) => ({ text: q.text })) });
    expect(await broker.request("q.failover-start", echo, { text: "hi" })).toEqual({ text: "hi" });
    // The log names nodes without their credentials.
    expect(logs.text()).not.toMatch(/guest:guest/);
  } finally {
    await broker.close();
  }
});

it("a lost connection reconnects to the next URL, and the service works there", async () => {
  const { broker, logs } = await startBroker(`${a.amqpUrl},${b.amqpUrl}`, { connectionName: "failover-move" });
  try {
    await waitFor(async () => (await listConnections(a.vhost)).length + (await listConnections(b.vhost)).length === 1, { message: "connected to one of the two" });
    const [from, to] = (await listConnections(a.vhost)).length === 1 ? [a, b] : [b, a];
    expect(await closeConnections(from.vhost)).toBe(1);
    await waitForConnections(to.vhost, 1, 20_000);
    await waitFor(async () => broker.isConnected(), { message: "connected again" });
    expect(await listConnections(from.vhost)).toEqual([]);
    await broker.addTopology(rpcQueueTopology("q.failover-move"));
    await broker.serve("q.failover-move", { [echo.type]: handler(echo, async (q) => ({ text: q.text })) });
    expect(await broker.request("q.failover-move", echo, { text: "moved" })).toEqual({ text: "moved" });
    expect(logs.text()).toMatch(/broker connection lost/);
  } finally {
    await broker.close();
  }
});

it("an RPC queue deleted under a live connection (its cluster node died) is declared again and served", async () => {
  const { broker, logs } = await startBroker(a.amqpUrl, { connectionName: "failover-deleted" });
  const outside = await admin(a.amqpUrl);
  try {
    await broker.addTopology(rpcQueueTopology("q.failover-deleted"));
    await broker.serve("q.failover-deleted", { [echo.type]: handler(echo, async (q) => ({ text: q.text })) });
    expect(await broker.request("q.failover-deleted", echo, { text: "before" })).toEqual({ text: "before" });
    // What a cluster does to a transient queue whose node goes down: it is deleted, and the
    // consumer (connected to another node) is cancelled while its connection stays up.
    await outside.ch.deleteQueue("q.failover-deleted");
    await waitFor(async () => /consumer cancelled by the broker/.test(logs.text()), { message: "consumer cancelled" });
    await waitFor(
      async () => (await broker.request("q.failover-deleted", echo, { text: "after" }, { timeoutMs: 1000 }).catch(() => undefined))?.text === "after",
      { timeoutMs: 20_000, message: "served again after the queue was deleted" },
    );
  } finally {
    await outside.close();
    await broker.close();
  }
});

it("an RPC queue left durable by an older version is replaced by the transient declaration", async () => {
  const outside = await admin(a.amqpUrl);
  // The declaration before RPC queues became transient.
  await outside.ch.assertQueue("q.failover-old", { durable: true, arguments: { "x-queue-type": "classic", "x-message-ttl": 60_000 } });
  const { broker } = await startBroker(a.amqpUrl, { connectionName: "failover-old" });
  try {
    await broker.addTopology(rpcQueueTopology("q.failover-old"));
    await broker.serve("q.failover-old", { [echo.type]: handler(echo, async (q) => ({ text: q.text })) });
    expect(await broker.request("q.failover-old", echo, { text: "new" })).toEqual({ text: "new" });
    // Declaring it transient again succeeds only if it is transient now (else PRECONDITION_FAILED).
    const check = await admin(a.amqpUrl);
    await expect(check.ch.assertQueue("q.failover-old", { durable: false, arguments: { "x-queue-type": "classic", "x-message-ttl": 60_000 } })).resolves.toMatchObject({
      queue: "q.failover-old",
    });
    await check.close();
  } finally {
    await outside.close();
    await broker.close();
  }
});
