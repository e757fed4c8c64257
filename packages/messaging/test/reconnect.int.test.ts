/**
 * Connection loss for real: the management API force-closes the broker's connection
 * (as an operator, a broker restart or a network partition would) in the middle of
 * publishing and of consuming.
 */
import { closeConnections, createVhost, waitFor, waitForConnections, type TestVhost } from "@pragma/testing";
import { EXCHANGES } from "@pragma/contracts";
import { ConnectionLostError, subscribeToNotifications, type Broker } from "../src";
import { EXCHANGE, admin, messageCount, queueWithDlq, sleep, startBroker, thingCreated, thingDeleted } from "./helpers";

jest.setTimeout(30_000);

let vh: TestVhost;

beforeAll(async () => {
  vh = await createVhost("messaging-reconnect");
});

afterAll(async () => {
  await vh?.dispose();
});

/** Records how a test's broker logged; asserts no channel was closed by a stale delivery tag. */
function channelErrors(text: string): string[] {
  return text.split("\n").filter((l) => /broker channel error|PRECONDITION_FAILED|unknown delivery tag/.test(l));
}

it("publishing through a dropped connection: every message arrives at least once, publishing resumes", async () => {
  const setup = await admin(vh.amqpUrl);
  await queueWithDlq(setup.ch, "q.pub-drop");
  await setup.close();

  const { broker, logs } = await startBroker(vh.amqpUrl, { publishWindow: 50, connectionName: "pub-drop" });
  // So that closeConnections() below acts at once rather than after the management API catches up.
  await waitForConnections(vh.vhost, 1);
  const N = 3000;
  try {
    const ids = Array.from({ length: N }, (_, i) => `msg_drop_${String(i).padStart(5, "0")}`);
    let confirmed = 0;
    let lost = 0;
    let confirmedAfterLoss = 0;
    let next = 0;
    // What the outbox relay does: publish with a stable message id, retry on ConnectionLostError.
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= N) return;
        for (;;) {
          try {
            await broker.publish(thingCreated, { id: ids[i]!, n: i }, { exchange: EXCHANGE, routingKey: "q.pub-drop", messageId: ids[i]! });
            confirmed += 1;
            if (lost > 0) confirmedAfterLoss += 1;
            // Paced (about 10k/s overall) so the drop lands mid-stream.
            await sleep(2);
            break;
          } catch (err) {
            if (!(err instanceof ConnectionLostError)) throw err;
            lost += 1;
            await sleep(20);
          }
        }
      }
    };
    const workers = Promise.all(Array.from({ length: 20 }, worker));
    await waitFor(async () => confirmed >= 300, { message: "first 300 confirmed" });
    const closed = await closeConnections(vh.vhost);
    await workers;

    expect(closed).toBe(1);
    expect(lost).toBeGreaterThan(0); // the drop really happened mid-way
    expect(confirmedAfterLoss).toBeGreaterThan(0);
    expect(confirmed).toBe(N);
    expect(broker.isConnected()).toBe(true);

    const check = await admin(vh.amqpUrl);
    const seen = new Set<string>();
    let total = 0;
    await check.ch.consume("q.pub-drop", (m) => {
      if (!m) return;
      seen.add(m.properties.messageId as string);
      total += 1;
    }, { noAck: true });
    await waitFor(async () => seen.size === N, { timeoutMs: 10_000, message: `all ${N} ids arrived (have ${seen.size})` });
    expect(total).toBeGreaterThanOrEqual(N); // duplicates allowed: at-least-once
    expect(logs.text()).toMatch(/broker connection lost/);
    await check.close();
  } finally {
    await broker.close();
  }
});

it("consuming through a dropped connection: stale acks are dropped, the consumer comes back, every message is handled", async () => {
  const setup = await admin(vh.amqpUrl);
  await queueWithDlq(setup.ch, "q.con-drop");
  const N = 400;
  for (let i = 0; i < N; i++) {
    setup.ch.publish(EXCHANGE, "q.con-drop", Buffer.from(JSON.stringify({ id: `c${i}`, n: i })), {
      type: thingCreated.type,
      messageId: `m${i}`,
      persistent: true,
    });
  }
  await waitFor(async () => (await messageCount(setup.ch, "q.con-drop")) === N, { message: "queued" });
  await setup.close();

  const { broker, logs } = await startBroker(vh.amqpUrl, { connectionName: "con-drop" });
  await waitForConnections(vh.vhost, 1);
  try {
    const handled = new Map<string, number>();
    let handledTotal = 0;
    let firstDeliveryDuplicates = 0;
    let inFlight = 0;
    let maxInFlightAtDrop = 0;
    let dropped = false;
    // Handlers that start once 60 are done wait here until the client has seen the
    // connection go, so some of them certainly ack on a dead channel (under a loaded
    // machine, without this, all could finish before the close frame was processed).
    let hold: Promise<void> | null = null;
    let release: () => void = () => undefined;
    await broker.consume(
      "q.con-drop",
      thingCreated,
      async (d) => {
        inFlight += 1;
        try {
          // Long enough that several handlers are mid-flight when the connection goes.
          await sleep(15);
          if (hold) await hold;
          const before = handled.get(d.messageId) ?? 0;
          if (before > 0 && !d.redelivered) firstDeliveryDuplicates += 1;
          handled.set(d.messageId, before + 1);
          handledTotal += 1;
        } finally {
          inFlight -= 1;
        }
      },
      { prefetch: 20 },
    );
    await waitFor(async () => handledTotal >= 60, { message: "60 handled" });
    hold = new Promise<void>((r) => (release = r));
    await waitFor(async () => inFlight > 0, { message: "a handler in flight" });
    const closing = closeConnections(vh.vhost);
    // Snapshot right at the drop: handlers that will try to ack on a dead channel.
    const sampler = setInterval(() => {
      if (!dropped) maxInFlightAtDrop = Math.max(maxInFlightAtDrop, inFlight);
    }, 1);
    expect(await closing).toBe(1);
    await waitFor(async () => /broker connection lost/.test(logs.text()), { message: "the client saw the connection go" });
    dropped = true;
    clearInterval(sampler);
    hold = null;
    release();

    await waitFor(async () => handled.size === N, { timeoutMs: 20_000, message: `all ${N} handled (have ${handled.size})` });
    expect(handledTotal).toBeGreaterThanOrEqual(N);
    expect(firstDeliveryDuplicates).toBe(0); // duplicates only from redelivery
    expect(maxInFlightAtDrop).toBeGreaterThan(0);
    expect(broker.isConnected()).toBe(true);

    const logText = logs.text();
    expect(logText).toMatch(/dropping ack\/nack for a delivery from a closed channel/);
    expect(channelErrors(logText)).toEqual([]);

    await broker.close();
    const check = await admin(vh.amqpUrl);
    expect(await messageCount(check.ch, "q.con-drop")).toBe(0);
    await check.close();
  } finally {
    await broker.close();
  }
});

it("re-runs topology after a reconnect before re-attaching consumers", async () => {
  const { broker, logs } = await startBroker(vh.amqpUrl, { connectionName: "topology" });
  try {
    // An exclusive queue dies with its connection, so the consumer can only come back if the topology ran again first.
    await broker.addTopology(async (ch) => {
      await ch.assertExchange(EXCHANGE, "topic", { durable: true });
      await ch.assertQueue("q.exclusive", { exclusive: true, durable: false });
      await ch.bindQueue("q.exclusive", EXCHANGE, "q.exclusive");
    });
    const got: number[] = [];
    await broker.consume("q.exclusive", thingCreated, async (d) => void got.push(d.payload.n), { prefetch: 5 });
    await broker.publish(thingCreated, { id: "before", n: 1 }, { exchange: EXCHANGE, routingKey: "q.exclusive" });
    await waitFor(async () => got.length === 1);
    await waitForConnections(vh.vhost, 1);

    expect(await closeConnections(vh.vhost)).toBe(1);
    await waitFor(async () => broker.isConnected() && logs.text().includes("re-attaching consumers"), { message: "reconnected" });
    await publishUntilDelivered(broker, 2);
    await waitFor(async () => got.includes(2), { message: "consumer handles after reconnect" });
    expect(channelErrors(logs.text())).toEqual([]);
  } finally {
    await broker.close();
  }
});

it("a notification subscription forgets what it kept on every new connection, then receives again", async () => {
  const { broker, logs } = await startBroker(vh.amqpUrl, { connectionName: "notifications" });
  try {
    const events: string[] = [];
    await subscribeToNotifications(broker, {
      queue: "q.notifications.test",
      contract: thingDeleted,
      onConnect: () => events.push("connect"),
      handle: (p) => void events.push(p.id),
    });
    const notify = (id: string) => broker.publish(thingDeleted, { id }, { exchange: EXCHANGES.events, routingKey: thingDeleted.type, mandatory: false });
    await notify("a");
    await waitFor(async () => events.includes("a"), { message: "first notification" });
    await waitForConnections(vh.vhost, 1);

    expect(await closeConnections(vh.vhost)).toBe(1);
    await waitFor(async () => broker.isConnected() && logs.text().includes("re-attaching consumers"), { message: "reconnected" });
    // The queue died with the old connection (exclusive); it is bound again before anything is received.
    await waitFor(
      async () => {
        await notify("b");
        return events.includes("b");
      },
      { timeoutMs: 5000, message: "a notification after the reconnect" },
    );
    expect(events.slice(0, 3)).toEqual(["connect", "a", "connect"]);
    expect(events.indexOf("connect", 1)).toBeLessThan(events.indexOf("b"));
  } finally {
    await broker.close();
  }
});

/** isConnected() flips before the consumers are attached; a publish is retried only if it was lost with the connection. */
async function publishUntilDelivered(broker: Broker, n: number): Promise<void> {
  await waitFor(
    async () => {
      await broker.publish(thingCreated, { id: "after", n }, { exchange: EXCHANGE, routingKey: "q.exclusive" });
      return true;
    },
    { timeoutMs: 5000, message: "publish after reconnect" },
  );
}
