import autocannon from "autocannon";
import pg from "pg";
import { DATABASE_URL, sleep } from "./env";
import { call, paced } from "./http";
import { round, summary } from "./stats";
import { startBenchServer } from "./child";
import { stopChild } from "./system";

const REF_DB = "pragma_bench_ref";

function refUrl(): string {
  const u = new URL(DATABASE_URL);
  u.pathname = `/${REF_DB}`;
  return u.toString();
}

/** A fresh database per run, so pg-boss's tables and ours start empty (as the store's org does). */
async function recreateDatabase() {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${REF_DB} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${REF_DB}`);
  } finally {
    await admin.end();
  }
}

async function waitDone(db: pg.Pool, fromId: number, expected: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const q = async () =>
    (await db.query(`SELECT count(done_at)::int AS done, (extract(epoch FROM max(done_at)) * 1000)::float8 AS last FROM items WHERE id > $1`, [fromId])).rows[0] as { done: number; last: number };
  let r = await q();
  while (r.done < expected && Date.now() < deadline) {
    await sleep(250);
    r = await q();
  }
  return r;
}

async function maxId(db: pg.Pool): Promise<number> {
  return Number((await db.query(`SELECT coalesce(max(id), 0) AS m FROM items`)).rows[0].m);
}

export async function referenceBench(opts: { count: number; connections: number; rate: number; seconds: number; timeoutMs: number; profileDir?: string; fixedRate?: boolean }) {
  await recreateDatabase();
  const server = await startBenchServer("reference-server.ts", { REF_DATABASE_URL: refUrl() }, opts.profileDir);
  const base = `http://127.0.0.1:${server.port}`;
  const db = new pg.Pool({ connectionString: refUrl(), max: 2 });
  try {
    // Warm-up, not reported.
    await autocannon({ url: base, connections: 16, amount: 300, requests: [{ method: "POST", path: "/items", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "warm" }) }] });
    await waitDone(db, 0, 300, 30_000);

    // Saturation: the same autocannon settings as the lifecycle saturation run.
    let from = await maxId(db);
    let next = 0;
    let accepted = 0;
    const t0 = Date.now();
    let lastResponse = t0;
    const sat = await autocannon({
      url: base,
      connections: opts.connections,
      amount: opts.count,
      timeout: 30,
      requests: [
        {
          method: "POST",
          path: "/items",
          headers: { "content-type": "application/json" },
          setupRequest: (req: any) => ({ ...req, body: JSON.stringify({ name: `sat-${next++}` }) }),
          onResponse: (status: number) => {
            if (status === 200) accepted++;
            lastResponse = Date.now();
          },
        } as any,
      ],
    });
    // Not Date.now(): autocannon resolves at its next 1-second sample tick, not at the last response.
    const applyEnd = lastResponse;
    const done = await waitDone(db, from, accepted, opts.timeoutMs);
    const seconds = (done.last - t0) / 1000;
    const saturation = {
      requests_sent: opts.count,
      accepted,
      request_http_rps: round(accepted / ((applyEnd - t0) / 1000)),
      request_latency_ms: { p50: sat.latency.p50, p99: sat.latency.p99 },
      done: done.done,
      seconds_first_request_to_last_done: round(seconds, 2),
      items_per_s: round(done.done / seconds),
    };

    if (opts.fixedRate === false) return { saturation };

    // Fixed rate: the same paced driver and the same measure (store timestamp − due time).
    from = await maxId(db);
    const count = Math.round(opts.rate * opts.seconds);
    const run = await paced({ rate: opts.rate, count, send: (i) => call(base, "POST", "/items", { body: { name: `rate-${i}` } }) });
    const ok = run.samples.filter((s) => s.status === 200);
    await waitDone(db, from, ok.length, 60_000);
    const { rows } = await db.query(`SELECT id::text AS id, (extract(epoch FROM done_at) * 1000)::float8 AS t FROM items WHERE id > $1 AND done_at IS NOT NULL`, [from]);
    const doneAt = new Map(rows.map((r) => [r.id as string, r.t as number]));
    const lat: number[] = [];
    for (const s of ok) {
      const t = doneAt.get(String(s.body.id));
      if (t !== undefined) lat.push(t - s.scheduledAt);
    }
    const fixed = {
      rate: opts.rate,
      requests: count,
      accepted: ok.length,
      achieved_rate: round(count / (run.elapsedMs / 1000)),
      request_http_ms: summary(ok.map((s) => s.respondedAt - s.scheduledAt)),
      request_to_done_ms: summary(lat),
      not_done: ok.length - lat.length,
    };
    return { saturation, fixed_rate: fixed };
  } finally {
    await db.end();
    await stopChild(server.child);
  }
}
