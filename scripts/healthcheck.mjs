#!/usr/bin/env node
// Health check for the backend services, which have no HTTP port:
//   node scripts/healthcheck.mjs <queue>     e.g. rpc.registry, rpc.resource-store, rpc.provider-worker
// Sends the bus request `system.health.ping.v1` to <queue> with RabbitMQ direct
// reply-to and expects a JSON reply with ok: true within HEALTHCHECK_TIMEOUT_MS
// (default 3000). Exit 0 healthy, 1 not. Connects to AMQP_URL (local default).
// Published with `mandatory`, so a queue nobody declared fails at once instead of timing out.
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const queue = process.argv[2];
const timeoutMs = Number(process.env.HEALTHCHECK_TIMEOUT_MS || 3000);
// AMQP_URL may list several cluster nodes (comma-separated, as for the services): try each in turn.
const urls = (process.env.AMQP_URL || "amqp://guest:guest@127.0.0.1:5672").split(",").map((s) => s.trim()).filter(Boolean);

function done(ok, msg) {
  process.stderr.write(`healthcheck ${queue ?? "?"}: ${msg}\n`);
  process.exit(ok ? 0 : 1);
}

if (!queue) done(false, "usage: node scripts/healthcheck.mjs <queue>");

// amqplib is a dependency of @pragma/messaging (pnpm does not hoist it to the root).
function loadAmqplib() {
  for (const base of ["packages/messaging", "services/registry", "services/resource-store", "services/provider-worker", "services/gateway", "."]) {
    const pkg = join(root, base, "package.json");
    if (!existsSync(pkg)) continue;
    try {
      return createRequire(pkg)("amqplib");
    } catch {
      /* try the next */
    }
  }
  done(false, "amqplib not found (run pnpm install)");
}

const amqp = loadAmqplib();
const timer = setTimeout(() => done(false, `no reply within ${timeoutMs} ms`), timeoutMs);
try {
  let conn;
  for (const url of urls) {
    try {
      conn = await amqp.connect(url, { timeout: timeoutMs });
      break;
    } catch (err) {
      if (url === urls[urls.length - 1]) throw err;
    }
  }
  conn.on("error", () => {});
  const ch = await conn.createChannel();
  const messageId = `hc_${randomUUID()}`;
  let onReply;
  const reply = new Promise((resolve, reject) => {
    onReply = resolve;
    ch.on("return", (msg) => reject(new Error(`no queue ${msg.fields.routingKey} (${msg.fields.replyText})`)));
    ch.on("error", reject);
  });
  // Direct reply-to: consume the pseudo-queue before publishing on the same channel.
  await ch.consume("amq.rabbitmq.reply-to", (msg) => onReply(msg), { noAck: true });
  ch.publish("", queue, Buffer.from("{}"), {
    type: "system.health.ping.v1",
    replyTo: "amq.rabbitmq.reply-to",
    messageId,
    correlationId: messageId,
    contentType: "application/json",
    mandatory: true,
    expiration: String(timeoutMs),
  });
  const msg = await reply;
  clearTimeout(timer);
  let body;
  try {
    body = JSON.parse(msg.content.toString("utf8"));
  } catch {
    done(false, `reply is not JSON: ${msg.content.toString("utf8").slice(0, 200)}`);
  }
  await conn.close().catch(() => {});
  if (body && body.ok === true) done(true, `ok ${JSON.stringify(body).slice(0, 200)}`);
  done(false, `unhealthy reply ${JSON.stringify(body).slice(0, 200)}`);
} catch (err) {
  done(false, err instanceof Error ? err.message : String(err));
}
