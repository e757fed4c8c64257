// The floor of the Auto API's hop, gateway side (hop-floor.ts): express takes the request
// and asks over RabbitMQ's direct reply-to, one message per request, and writes the reply's
// bytes as the body. No auth, no validation, no batching: only the hop.
import express from "express";
import amqp from "amqplib";
import { AMQP_URL } from "./env";
import { FLOOR_QUEUE } from "./floor-body";

async function main() {
  const conn = await amqp.connect(AMQP_URL, { noDelay: true });
  const ch = await conn.createChannel();
  const waiting = new Map<string, (body: Buffer) => void>();
  let next = 0;
  await ch.consume(
    "amq.rabbitmq.reply-to",
    (m) => {
      const id = m?.properties.correlationId as string | undefined;
      const done = id === undefined ? undefined : waiting.get(id);
      if (!done || !m) return;
      waiting.delete(id!);
      done(m.content);
    },
    { noAck: true },
  );
  const app = express();
  app.set("etag", false);
  app.get("/rows", (req, res) => {
    const id = String(next++);
    waiting.set(id, (body) => res.type("application/json").send(body));
    ch.sendToQueue(FLOOR_QUEUE, Buffer.from(JSON.stringify({ url: req.url })), { correlationId: id, replyTo: "amq.rabbitmq.reply-to" });
  });
  const server = app.listen(0, "127.0.0.1", () => {
    const addr = server.address();
    process.stdout.write(`READY ${typeof addr === "object" && addr ? addr.port : 0}\n`);
  });
  process.on("SIGTERM", () => server.close(() => void conn.close().finally(() => process.exit(0))));
}
main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
