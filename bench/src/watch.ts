import http from "node:http";
import { GATEWAY_URL, sleep } from "./env";
import { round, summary } from "./stats";
import type { StoreObserver } from "./store-observer";
import type { Tenant } from "./system";
import { lifecycleFixedRate, lifecycleSaturation, warmUp } from "./lifecycle";

interface Stream {
  req: http.ClientRequest;
  bytes: number;
  changed: number;
  /** Measuring streams parse every frame: ready-event delivery delay, from the resource's updated_at. */
  delays?: number[];
  synced: boolean;
}

/**
 * Opens one GET /resources/watch stream. Most streams only count bytes (a watcher that
 * reads but does not care), so the bench's own parsing does not dominate the two cores;
 * `measure` streams parse each frame and time the ready events against the store's commit
 * time (the resource's updated_at, the same machine's clock).
 */
function openStream(tenant: Tenant, measure: boolean): Promise<Stream> {
  return new Promise((resolve, reject) => {
    const url = new URL("/resources/watch", GATEWAY_URL);
    const s: Stream = { req: undefined as unknown as http.ClientRequest, bytes: 0, changed: 0, synced: false, ...(measure ? { delays: [] } : {}) };
    let buf = "";
    s.req = http.get(url, { headers: { ...tenant.member, accept: "text/event-stream" }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch → ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        s.bytes += chunk.length;
        if (!s.synced && chunk.includes("event: sync")) {
          s.synced = true;
          resolve(s);
        }
        if (!s.delays) return;
        const now = Date.now();
        buf += chunk;
        let end: number;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          if (!frame.includes("event: changed")) continue;
          s.changed++;
          const data = frame.slice(frame.indexOf("data: ") + 6);
          const r = JSON.parse(data) as { lifecycle_state: string; updated_at: string };
          if (r.lifecycle_state === "ready") s.delays.push(now - Date.parse(r.updated_at));
        }
      });
    });
    s.req.on("error", (err) => {
      if (!s.synced) reject(err);
    });
  });
}

/**
 * Issue 24's watch benchmark: the lifecycle saturation run without streams, then with
 * `streams` open watch streams on the same tenant (every change goes to every stream), and
 * a fixed-rate run with the streams for the change → delivery latency at a steady load.
 */
export async function watchBench(tenant: Tenant, observer: StoreObserver, opts: { streams: number; measuring: number; count: number; connections: number; rate: number; seconds: number; timeoutMs: number; say: (m: string) => void }) {
  await warmUp(tenant, observer);
  opts.say(`watch: lifecycle saturation without streams, ${opts.count} applies`);
  await observer.vacuum();
  const without = await lifecycleSaturation(tenant, observer, { count: opts.count, connections: opts.connections, label: "wn", timeoutMs: opts.timeoutMs });
  opts.say(`  → ${without.resources_per_s} resources/s`);

  opts.say(`watch: opening ${opts.streams} streams (${opts.measuring} measuring)`);
  const t0 = Date.now();
  const streams: Stream[] = [];
  for (let i = 0; i < opts.streams; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, opts.streams - i) }, (_, j) => openStream(tenant, i + j < opts.measuring)));
    streams.push(...batch);
  }
  const openSeconds = (Date.now() - t0) / 1000;
  try {
    opts.say(`watch: lifecycle saturation with ${streams.length} streams`);
    await observer.vacuum();
    const withStreams = await lifecycleSaturation(tenant, observer, { count: opts.count, connections: opts.connections, label: "ws", timeoutMs: opts.timeoutMs });
    await sleep(1000);
    const satDelays = streams.flatMap((s) => s.delays?.splice(0) ?? []);
    opts.say(`  → ${withStreams.resources_per_s} resources/s; delivery p99 ${summary(satDelays).p99} ms`);

    opts.say(`watch: ${opts.rate} applies/s for ${opts.seconds} s with the streams`);
    const fixed = await lifecycleFixedRate(tenant, observer, { rate: opts.rate, seconds: opts.seconds, label: "wf" });
    await sleep(1000);
    const fixedDelays = streams.flatMap((s) => s.delays?.splice(0) ?? []);
    const bytes = streams.reduce((n, s) => n + s.bytes, 0);
    return {
      streams: streams.length,
      measuring_streams: opts.measuring,
      seconds_to_open: round(openSeconds, 2),
      without_streams: { resources_per_s: without.resources_per_s, cpu_ms_per_resource: without.cpu_ms_per_resource },
      with_streams: { resources_per_s: withStreams.resources_per_s, cpu_ms_per_resource: withStreams.cpu_ms_per_resource, delivery_ms: summary(satDelays) },
      fixed_rate_with_streams: { rate: opts.rate, apply_to_ready_ms: fixed.apply_to_ready_ms, delivery_ms: summary(fixedDelays) },
      ratio_with_to_without: round(withStreams.resources_per_s / without.resources_per_s, 2),
      megabytes_delivered: round(bytes / 2 ** 20, 1),
    };
  } finally {
    for (const s of streams) s.req.destroy();
  }
}
