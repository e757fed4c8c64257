import amqp from "amqplib";
import { AMQP_URL, GATEWAY_URL, sleep } from "./env";
import { call, mapLimit } from "./http";
import { round } from "./stats";
import type { StoreObserver } from "./store-observer";
import type { Tenant } from "./system";

const DLQ = "pragma.dead-letter";

/** Counts the org's dead-letter entries for a provider through GET /ops/dead-letter, following pagination. */
async function countEntries(tenant: Tenant, provider: string): Promise<{ status: number; count: number }> {
  let count = 0;
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const qs = new URLSearchParams({ provider, limit: "1000", ...(cursor ? { cursor } : {}) });
    const res = await call(GATEWAY_URL, "GET", `/ops/dead-letter?${qs}`, { headers: tenant.operator, timeoutMs: 60_000 });
    if (res.status !== 200) return { status: res.status, count };
    const b = res.body;
    const list: unknown[] = Array.isArray(b) ? b : (b?.items ?? b?.entries ?? b?.data ?? []);
    if (typeof b?.total === "number" && !cursor) return { status: 200, count: b.total };
    count += list.length;
    const nextCursor = (res.headers["next_cursor"] ?? res.headers["next-cursor"] ?? res.headers["x-next-cursor"] ?? b?.next_cursor) as string | undefined;
    if (!nextCursor || list.length === 0) break;
    cursor = nextCursor;
  }
  return { status: 200, count };
}

async function queueDepth(): Promise<number | null> {
  const conn = await amqp.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    ch.on("error", () => undefined);
    const q = await ch.checkQueue(DLQ).catch(() => null);
    return q ? q.messageCount : null;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/**
 * N permanently failing events: pragma/random with length 1 fails its config schema in the
 * worker (PermanentError, no retries), the cheapest permanent failure there is. If the
 * store starts validating config at apply (422), postgres/database on a project whose
 * registered database does not exist (SQLSTATE 3D000, classified permanent) is used.
 */
export async function deadLetterBench(tenant: Tenant, observer: StoreObserver, opts: { count: number; timeoutMs: number }) {
  const prefix = `dl-${Date.now().toString(36)}-`;
  const pad = (i: number) => String(i).padStart(6, "0");
  let provider = "pragma";
  let body = (i: number): Record<string, unknown> => ({ provider: "pragma", resource: "random", name: `${prefix}${pad(i)}`, config: { length: 1 }, lifecycle_state: "pending" });
  const first = await call(GATEWAY_URL, "POST", "/resources/apply", { headers: tenant.member, body: body(0) });
  if (first.status === 422) {
    provider = "postgres";
    body = (i: number) => ({ provider: "postgres", resource: "database", name: `${prefix}${pad(i)}`, config: { name: `bench_${i}` }, lifecycle_state: "pending" });
  } else if (first.status !== 200) throw new Error(`apply of a failing resource → ${first.status}: ${first.text.slice(0, 300)}`);

  const routeProbe = await countEntries(tenant, provider);
  const routes = routeProbe.status === 200;
  const depthBefore = await queueDepth();

  const t0 = Date.now();
  const statuses = await mapLimit(
    Array.from({ length: opts.count }, (_, i) => i).filter((i) => provider !== "pragma" || i > 0),
    32,
    async (i) => (await call(GATEWAY_URL, "POST", "/resources/apply", { headers: tenant.member, body: body(i) })).status,
  );
  const accepted = statuses.filter((s) => s === 200).length + (provider === "pragma" ? 1 : 0);
  const appliedS = (Date.now() - t0) / 1000;

  // All failed in the store (the worker publishes `failed` and the dead-letter copy, both confirmed, before acking).
  let deadline = Date.now() + opts.timeoutMs;
  let counts = await observer.counts(tenant, prefix);
  while ((counts.failed?.n ?? 0) < accepted && Date.now() < deadline) {
    await sleep(500);
    counts = await observer.counts(tenant, prefix);
  }
  const allFailedS = ((counts.failed?.last ?? NaN) - t0) / 1000;

  const result: Record<string, unknown> = {
    provider,
    events: accepted,
    apply_seconds: round(appliedS, 2),
    seconds_until_all_failed_in_store: round(allFailedS, 2),
    failed_in_store: counts.failed?.n ?? 0,
    dlq_queue_depth_before: depthBefore,
    dlq_queue_depth_after: await queueDepth(),
    routes: routes ? "present" : `missing (GET /ops/dead-letter → ${routeProbe.status})`,
  };
  if (!routes) return result;

  // Seconds until every entry is in the dead-letter store, counted through the API.
  let entries = await countEntries(tenant, provider);
  while (entries.count < accepted && Date.now() < deadline) {
    await sleep(1000);
    entries = await countEntries(tenant, provider);
  }
  result.seconds_until_all_in_dead_letter_store = round((Date.now() - t0) / 1000, 2);
  result.dead_letter_entries = entries.count;

  // retry-all: each entry is re-queued, fails again, and comes back; lost = what never returns.
  const r0 = Date.now();
  const retry = await call(GATEWAY_URL, "POST", `/ops/dead-letter/retry-all?provider=${provider}`, { headers: tenant.operator, timeoutMs: 300_000 });
  result.retry_all_status = retry.status;
  result.retried_count = retry.body?.retried_count ?? null;
  result.retry_all_call_seconds = round((Date.now() - r0) / 1000, 2);
  deadline = Date.now() + opts.timeoutMs;
  // Re-queued = back in pending/processing or already failed again after r0.
  let failedAgain = 0;
  while (Date.now() < deadline) {
    const t = await observer.times(tenant, prefix, "failed");
    failedAgain = [...t.values()].filter((v) => v >= r0).length;
    if (failedAgain >= accepted) break;
    await sleep(500);
  }
  result.seconds_until_all_requeued_and_failed_again = round((Date.now() - r0) / 1000, 2);
  entries = await countEntries(tenant, provider);
  while (entries.count < accepted && Date.now() < deadline) {
    await sleep(1000);
    entries = await countEntries(tenant, provider);
  }
  result.seconds_until_all_back_in_dead_letter_store = round((Date.now() - r0) / 1000, 2);
  result.dead_letter_entries_after_retry = entries.count;
  result.lost = accepted - Math.min(entries.count, failedAgain);
  return result;
}
