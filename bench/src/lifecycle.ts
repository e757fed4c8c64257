import autocannon from "autocannon";
import { GATEWAY_URL, sleep } from "./env";
import { call, mapLimit, paced } from "./http";
import { round, summary } from "./stats";
import type { StoreObserver } from "./store-observer";
import { cpuMsPerItem, cpuSnapshot } from "./cpu-share";
import type { Tenant } from "./system";

const pad = (i: number) => String(i).padStart(6, "0");
export const applyBody = (name: string, i: number) => ({ provider: "pragma", resource: "config", name, config: { index: i, region: "eu", replicas: 3 }, lifecycle_state: "pending" });
const idOf = (name: string) => encodeURIComponent(`resource:pragma_config_${name}`);

/** Waits until every accepted resource left pending/processing (bounded by timeoutMs). */
export async function waitSettled(observer: StoreObserver, tenant: Tenant, prefix: string, expected: number, timeoutMs: number, settled = ["ready", "failed"]) {
  const deadline = Date.now() + timeoutMs;
  let counts = await observer.counts(tenant, prefix);
  const done = () => settled.reduce((n, s) => n + (counts[s]?.n ?? 0), 0);
  while (done() < expected && Date.now() < deadline) {
    await sleep(250);
    counts = await observer.counts(tenant, prefix);
  }
  return { counts, timedOut: done() < expected };
}

/** GETs a random sample over HTTP and counts how many the API shows ready. */
async function httpVerify(tenant: Tenant, names: string[], sample: number) {
  const picked = [...names].sort(() => Math.random() - 0.5).slice(0, sample);
  const states = await mapLimit(picked, 8, async (n) => (await call(GATEWAY_URL, "GET", `/resources/${idOf(n)}`, { headers: tenant.member })).body?.lifecycle_state);
  return { sampled: picked.length, ready: states.filter((s) => s === "ready").length };
}

export async function lifecycleSaturation(tenant: Tenant, observer: StoreObserver, opts: { count: number; connections: number; label: string; timeoutMs: number }) {
  const prefix = `sat-${opts.label}-${Date.now().toString(36)}-`;
  let next = 0;
  const accepted: string[] = [];
  let rejected = 0;
  const cpu0 = cpuSnapshot();
  const t0 = Date.now();
  let lastResponse = t0;
  const result = await autocannon({
    url: GATEWAY_URL,
    connections: opts.connections,
    amount: opts.count,
    timeout: 30,
    requests: [
      {
        method: "POST",
        path: "/resources/apply",
        headers: { ...tenant.member, "content-type": "application/json" },
        setupRequest: (req: any) => {
          const i = next++;
          return { ...req, body: JSON.stringify(applyBody(`${prefix}${pad(i)}`, i)) };
        },
        onResponse: (status: number, body: string) => {
          if (status === 200) accepted.push(JSON.parse(body).name);
          else rejected++;
          lastResponse = Date.now();
        },
      } as any,
    ],
  });
  // Not Date.now(): autocannon resolves at its next 1-second sample tick, not at the last response.
  const applyEnd = lastResponse;
  const { counts, timedOut } = await waitSettled(observer, tenant, prefix, accepted.length, opts.timeoutMs);
  const cpu1 = cpuSnapshot();
  const ready = counts.ready?.n ?? 0;
  const lastReady = counts.ready?.last ?? NaN;
  const seconds = (lastReady - t0) / 1000;
  const verify = await httpVerify(tenant, accepted, 200);
  return {
    applies_sent: opts.count,
    applies_accepted: accepted.length,
    applies_rejected: rejected,
    apply_http_rps: round(accepted.length / ((applyEnd - t0) / 1000)),
    apply_latency_ms: { p50: result.latency.p50, p99: result.latency.p99 },
    ready,
    failed: counts.failed?.n ?? 0,
    still_pending: (counts.pending?.n ?? 0) + (counts.processing?.n ?? 0),
    timed_out: timedOut,
    seconds_first_apply_to_last_ready: round(seconds, 2),
    resources_per_s: round(ready / seconds),
    // From the first apply until every resource settled (the bench's own polling included).
    cpu_ms_per_resource: cpuMsPerItem(cpu0, cpu1, ready),
    http_verified: verify,
  };
}

/**
 * 200 applies/s, evenly spaced, open loop. Latency = store's ready timestamp − the time the
 * apply was due. A 1-in-10 sample is also polled over HTTP every 10 ms from its apply
 * response, giving the latency a client sees (resolution 10 ms + one GET).
 */
export async function lifecycleFixedRate(tenant: Tenant, observer: StoreObserver, opts: { rate: number; seconds: number; label: string }) {
  const prefix = `rate-${opts.label}-${Date.now().toString(36)}-`;
  const count = Math.round(opts.rate * opts.seconds);
  const httpSeen: number[] = [];
  const polls: Promise<void>[] = [];
  let httpPolls = 0;
  const pollUntilReady = async (name: string, due: number) => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const res = await call(GATEWAY_URL, "GET", `/resources/${idOf(name)}`, { headers: tenant.member });
      httpPolls++;
      if (res.body?.lifecycle_state === "ready") {
        httpSeen.push(Date.now() - due);
        return;
      }
      await sleep(10);
    }
  };
  const run = await paced({
    rate: opts.rate,
    count,
    send: (i) => call(GATEWAY_URL, "POST", "/resources/apply", { headers: tenant.member, body: applyBody(`${prefix}${pad(i)}`, i) }),
    onResponse: (s) => {
      if (s.status === 200 && s.index % 10 === 0) polls.push(pollUntilReady(s.body.name, s.scheduledAt));
    },
  });
  const ok = run.samples.filter((s) => s.status === 200);
  await waitSettled(observer, tenant, prefix, ok.length, 60_000);
  await Promise.all(polls);
  const readyAt = await observer.times(tenant, prefix, "ready");
  const latencies: number[] = [];
  for (const s of ok) {
    const t = readyAt.get(s.body.name);
    if (t !== undefined) latencies.push(t - s.scheduledAt);
  }
  return {
    rate: opts.rate,
    applies: count,
    accepted: ok.length,
    errors: run.errors + run.samples.length - ok.length,
    achieved_rate: round(count / (run.elapsedMs / 1000)),
    driver_max_late_ms: round(run.lateMs),
    apply_http_ms: summary(ok.map((s) => s.respondedAt - s.scheduledAt)),
    apply_to_ready_ms: summary(latencies),
    not_ready: ok.length - latencies.length,
    http_sample_apply_to_ready_ms: summary(httpSeen),
    http_sample_polls: httpPolls,
  };
}

/** A short run so JIT, pools and caches are warm before anything is measured. */
export async function warmUp(tenant: Tenant, observer: StoreObserver) {
  const prefix = `warm-${Date.now().toString(36)}-`;
  await mapLimit(
    Array.from({ length: 300 }, (_, i) => i),
    16,
    (i) => call(GATEWAY_URL, "POST", "/resources/apply", { headers: tenant.member, body: applyBody(`${prefix}${pad(i)}`, i) }),
  );
  await waitSettled(observer, tenant, prefix, 300, 30_000);
}
