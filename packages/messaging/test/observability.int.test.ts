import { AppError } from "@pragma/errors";
import { createVhost, type TestVhost } from "@pragma/testing";
import { defineRequest, ping } from "@pragma/contracts";
import { z } from "zod";
import { handler, rpcQueueTopology, type Broker, type BrokerMetrics } from "../src";
import { admin, echo, fails, startBroker } from "./helpers";

jest.setTimeout(30_000);

/** What the broker told its metrics sink (the sink is ours to record with; the broker and RabbitMQ are real). */
const seen: { end: "client" | "server"; type: string; outcome: string; seconds: number }[] = [];
const metrics: BrokerMetrics = {
  rpcClient: (type, outcome, seconds) => void seen.push({ end: "client", type, outcome, seconds }),
  rpcServer: (type, outcome, seconds) => void seen.push({ end: "server", type, outcome, seconds }),
};
const nobodyServes = defineRequest("test.nobody.run.v1", z.object({}), z.object({}));

let vh: TestVhost;
let broker: Broker;
let adm: Awaited<ReturnType<typeof admin>>;

beforeAll(async () => {
  vh = await createVhost("messaging-observability");
  adm = await admin(vh.amqpUrl);
  ({ broker } = await startBroker(vh.amqpUrl, { metrics }));
  await broker.addTopology(rpcQueueTopology("rpc.obs"));
  await broker.serve(
    "rpc.obs",
    {
      echo: handler(echo, async ({ text }) => ({ text: text.toUpperCase() })),
      fails: handler(fails, async () => {
        throw new AppError("NOT_FOUND", "Thing not found: x");
      }),
    },
    { health: async () => ({ postgres: { status: "down", latency_ms: 3, error: "ECONNREFUSED" } }) },
  );
});

afterAll(async () => {
  await broker?.close();
  await adm?.close();
  await vh?.dispose();
});

it("times each request on both ends, by type and outcome (ok or the error code)", async () => {
  seen.length = 0;
  await broker.request("rpc.obs", echo, { text: "hi" });
  await broker.request("rpc.obs", fails, { kind: "app" }).catch(() => undefined);
  // Served by nobody on this queue: the server answers BAD_REQUEST under "unknown", not the wire's type.
  await broker.request("rpc.obs", nobodyServes, {}).catch(() => undefined);
  const rows = seen.map((s) => `${s.end} ${s.type} ${s.outcome}`).sort();
  expect(rows).toEqual(
    [
      "client test.echo.run.v1 ok",
      "server test.echo.run.v1 ok",
      "client test.fail.run.v1 NOT_FOUND",
      "server test.fail.run.v1 NOT_FOUND",
      "client test.nobody.run.v1 BAD_REQUEST",
      "server unknown BAD_REQUEST",
    ].sort(),
  );
  for (const s of seen) expect(s.seconds).toBeGreaterThan(0);
  for (const s of seen) expect(s.seconds).toBeLessThan(5);
});

it("a request nobody can take is counted with the code the caller got", async () => {
  seen.length = 0;
  await broker.request("rpc.nobody-here", echo, { text: "x" }).catch(() => undefined);
  expect(seen.map((s) => `${s.end} ${s.outcome}`)).toEqual(["client UNAVAILABLE"]);
});

it("ping carries what the service's health check names", async () => {
  expect(await broker.request("rpc.obs", ping, {})).toEqual({
    service: "messaging-test",
    version: "9.9.9",
    ok: true,
    checks: { postgres: { status: "down", latency_ms: 3, error: "ECONNREFUSED" } },
  });
});

it("queueDepths reads ready messages and consumers, and leaves out a queue that does not exist", async () => {
  await adm.ch.assertQueue("q.depth-a", { durable: true });
  await adm.ch.assertQueue("q.depth-b", { durable: true });
  adm.ch.sendToQueue("q.depth-a", Buffer.from("1"));
  adm.ch.sendToQueue("q.depth-a", Buffer.from("2"));
  await adm.ch.checkQueue("q.depth-a");
  const depths = await broker.queueDepths(["q.depth-a", "q.missing", "q.depth-b", "rpc.obs"]);
  expect(depths).toEqual([
    { queue: "q.depth-a", messages: 2, consumers: 0 },
    { queue: "q.depth-b", messages: 0, consumers: 0 },
    { queue: "rpc.obs", messages: 0, consumers: 1 },
  ]);
  // The broker's own channels are unharmed by the missing queue's channel error.
  expect(await broker.request("rpc.obs", echo, { text: "still" })).toEqual({ text: "STILL" });
});
