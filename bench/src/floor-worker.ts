// The floor of the Auto API's hop, worker side (hop-floor.ts): takes each request from its
// queue, parses it, and answers the floor body. No database, no encoding.
import amqp from "amqplib";
import { AMQP_URL } from "./env";
import { FLOOR_BODY, FLOOR_QUEUE } from "./floor-body";

async function main() {
  const conn = await amqp.connect(AMQP_URL, { noDelay: true });
  const ch = await conn.createChannel();
  await ch.assertQueue(FLOOR_QUEUE, { durable: false, autoDelete: true });
  await ch.prefetch(64);
  await ch.consume(FLOOR_QUEUE, (m) => {
    if (!m) return;
    JSON.parse(m.content.toString("utf8"));
    ch.sendToQueue(m.properties.replyTo as string, FLOOR_BODY, { correlationId: m.properties.correlationId as string });
    ch.ack(m);
  });
  process.stdout.write("READY 0\n");
  process.on("SIGTERM", () => void conn.close().finally(() => process.exit(0)));
}
main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
