import autocannon from "autocannon";
import { GATEWAY_URL, sleep } from "./env";
import { mustCall } from "./http";
import { startBenchServer } from "./child";
import { stopChild, type Tenant } from "./system";
import { applyBody, waitSettled } from "./lifecycle";
import type { StoreObserver } from "./store-observer";
import { cpuMsPerItem, cpuSnapshot } from "./cpu-share";

async function load(url: string, path: string, headers: Record<string, string>, seconds: number, connections: number) {
  // Warm-up pass (not reported), then the measured pass.
  await autocannon({ url, connections, duration: 2, requests: [{ method: "GET", path, headers }] });
  const before = cpuSnapshot();
  const r = await autocannon({ url, connections, duration: seconds, timeout: 10, requests: [{ method: "GET", path, headers }] });
  const cpu = cpuMsPerItem(before, cpuSnapshot(), r.requests.total);
  return {
    req_per_s: Math.round(r.requests.average),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    total: r.requests.total,
    non_2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    cpu_ms_per_request: cpu,
  };
}

/**
 * Authenticated GET /resources/{id} (JWT verify, per-org token bucket in Redis, scope
 * resolution, then the gateway's resource cache: after the first request every answer is
 * a hit), the same with `Cache-Control: no-cache` (RPC to the store, one SELECT, every
 * time), GET /health and a bare express app; same autocannon settings, one after the other.
 */
export async function gatewayBench(tenant: Tenant, observer: StoreObserver, opts: { seconds: number; connections: number }) {
  const name = `gw-${Date.now().toString(36)}`;
  await mustCall(GATEWAY_URL, "POST", "/resources/apply", { headers: tenant.member, body: applyBody(name, 0) });
  await waitSettled(observer, tenant, name, 1, 20_000);
  const path = `/resources/${encodeURIComponent(`resource:pragma_config_${name}`)}`;
  // A 429 would make the figure meaningless: check headers once and that the limit is the raised one.
  const probe = await mustCall(GATEWAY_URL, "GET", path, { headers: tenant.member });
  const limit = probe.headers["ratelimit-limit"];

  const hello = await startBenchServer("hello-server.ts");
  try {
    const authed = await load(GATEWAY_URL, path, tenant.member, opts.seconds, opts.connections);
    await sleep(500);
    const noCache = await load(GATEWAY_URL, path, { ...tenant.member, "cache-control": "no-cache" }, opts.seconds, opts.connections);
    await sleep(500);
    const health = await load(GATEWAY_URL, "/health", {}, opts.seconds, opts.connections);
    await sleep(500);
    const bare = await load(`http://127.0.0.1:${hello.port}`, "/", {}, opts.seconds, opts.connections);
    return { connections: opts.connections, seconds: opts.seconds, ratelimit_limit_header: limit ?? null, authenticated_get: authed, authenticated_get_no_cache: noCache, health, express_hello: bare };
  } finally {
    await stopChild(hello.child);
  }
}
