import amqp from "amqplib";
import { randomBytes } from "node:crypto";
import { AMQP_URL } from "./env";
import { round } from "./stats";

/**
 * The worker path alone: `count` pragma/config work messages (a hook that only echoes
 * its config, no I/O) published straight to pragma.work with confirms, and the time until
 * every one of them has a `succeeded` result on pragma.results. Everything a real event
 * costs a worker is in it: delivery, dedupe, the per-resource lease, the confirmed result
 * publish (shared with the results finished in the same turn), the resource log, the ack. The store also sees these results and drops them
 * as stale (no such resource), which is cheap but on the same cores.
 */
export interface WorkTarget {
  provider: string;
  resourceType: string;
  /** pragma.work routing key: the provider for built-ins, "pushed" for pushed providers. */
  routingKey: string;
  /** A pushed provider runs only for the org that deployed it. */
  orgId?: string;
}

export async function workerBench(opts: { count: number; timeoutMs: number; target?: WorkTarget }) {
  const target = opts.target ?? { provider: "pragma", resourceType: "config", routingKey: "pragma" };
  const conn = await amqp.connect(AMQP_URL, { noDelay: true });
  try {
    const ch = await conn.createConfirmChannel();
    const tag = randomBytes(4).toString("hex");
    const { queue } = await ch.assertQueue("", { exclusive: true, autoDelete: true });
    await ch.bindQueue(queue, "pragma.results", "provider.event.succeeded.v1");
    // Results a worker finished together travel as one message (provider.event.reported.v1).
    await ch.bindQueue(queue, "pragma.results", "provider.event.reported.v1");
    const scope = { org_id: target.orgId ?? `01BENCH${tag.toUpperCase()}`, project_id: `prj_bench${tag}`, space_id: `spc_bench${tag}` };
    const done = new Set<string>();
    let messages = 0;
    let lastAt = 0;
    let resolveAll: () => void = () => undefined;
    const all = new Promise<void>((r) => (resolveAll = r));
    await ch.consume(
      queue,
      (msg) => {
        if (!msg) return;
        const body = JSON.parse(msg.content.toString()) as { event_id?: string; results?: { type: string; data: { event_id?: string } }[] };
        const ids = msg.properties.type === "provider.event.reported.v1" ? (body.results ?? []).filter((r) => r.type === "provider.event.succeeded.v1").map((r) => r.data.event_id) : [body.event_id];
        let ours = false;
        for (const id of ids) {
          if (id?.startsWith(`evt_bench${tag}_`) && !done.has(id)) {
            ours = true;
            done.add(id);
            lastAt = Date.now();
            if (done.size === opts.count) resolveAll();
          }
        }
        if (ours) messages += 1;
      },
      { noAck: true },
    );
    const started = Date.now();
    for (let i = 0; i < opts.count; i++) {
      const eventId = `evt_bench${tag}_${i}`;
      const work = {
        event_id: eventId,
        event_type: "CREATE",
        resource_id: `resource:${target.provider}_${target.resourceType}_wb-${tag}-${i}`,
        provider: target.provider,
        resource_type: target.resourceType,
        resource_name: `wb-${tag}-${i}`,
        ...scope,
        config: { index: i },
        previous_config: null,
        outputs: null,
        created_at: new Date().toISOString(),
      };
      const ok = ch.publish("pragma.work", target.routingKey, Buffer.from(JSON.stringify(work)), {
        persistent: true,
        messageId: eventId,
        type: "resources.resource.reconcile.v1",
        contentType: "application/json",
        timestamp: Math.floor(Date.now() / 1000),
        headers: { "x-resource-id": work.resource_id, "x-org-id": scope.org_id, "x-project-id": scope.project_id, "x-space-id": scope.space_id },
      });
      if (!ok) await new Promise((r) => ch.once("drain", r));
      if (i % 500 === 499) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
    const publishedAt = Date.now();
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), opts.timeoutMs))]);
    const seconds = ((lastAt || Date.now()) - started) / 1000;
    return {
      events: opts.count,
      succeeded: done.size,
      timed_out: timedOut,
      publish_seconds: round((publishedAt - started) / 1000, 2),
      seconds: round(seconds, 2),
      events_per_s: round(done.size / seconds, 1),
      /** Result messages that carried them (fewer than results when a worker batched them). */
      result_messages: messages,
    };
  } finally {
    await conn.close().catch(() => undefined);
  }
}
