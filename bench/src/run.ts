// Entry point: `pnpm --filter @pragma/bench all [-- options]`, see README.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GATEWAY_URL } from "./env";
import { call } from "./http";
import { machineFacts } from "./machine";
import { markdown, verdict, type Row } from "./report";
import { StoreObserver } from "./store-observer";
import { createTenant, startExtraWorker, startSystem, stopAll, stopChild, waitHealthy } from "./system";
import { lifecycleFixedRate, lifecycleSaturation, warmUp } from "./lifecycle";
import { gatewayBench } from "./gateway";
import { deadLetterBench } from "./dead-letter";
import { referenceBench } from "./reference";
import { workerBench } from "./worker";
import { watchBench } from "./watch";
import { formatCpu, gatewayProcesses } from "./cpu-share";

const ALL = ["lifecycle", "worker", "gateway", "dead-letter", "reference", "versus", "watch"] as const;

const { values, positionals } = parseArgs({
  // `pnpm --filter @pragma/bench all -- --start` passes the "--" through; parseArgs would
  // then take every option after it as a positional.
  args: process.argv.slice(2).filter((a) => a !== "--"),
  allowPositionals: true,
  options: {
    start: { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    replicas: { type: "string", default: "1,2" },
    count: { type: "string", default: "5000" },
    connections: { type: "string", default: "32" },
    rate: { type: "string", default: "200" },
    "rate-seconds": { type: "string", default: "15" },
    "gw-seconds": { type: "string", default: "10" },
    "gw-connections": { type: "string", default: "50" },
    "dl-count": { type: "string", default: "10000" },
    "timeout-seconds": { type: "string", default: "300" },
    rounds: { type: "string", default: "3" },
    "versus-replicas": { type: "string", default: "2" },
    "gateway-processes": { type: "string", default: "2" },
    "watch-streams": { type: "string", default: "500" },
    "watch-measuring": { type: "string", default: "10" },
  },
});
const selected = positionals.length ? positionals : [...ALL];
for (const p of selected) if (!(ALL as readonly string[]).includes(p)) throw new Error(`unknown benchmark "${p}" (one of ${ALL.join(", ")})`);
const num = (k: keyof typeof values) => Number(values[k]);
const replicaSet = String(values.replicas).split(",").map(Number);
for (const r of replicaSet) if (r !== 1 && r !== 2) throw new Error("--replicas takes 1, 2 or 1,2");
if (![1, 2].includes(Number(values["versus-replicas"]))) throw new Error("--versus-replicas takes 1 or 2");
if (!(Number(values.rounds) >= 1)) throw new Error("--rounds takes a number ≥ 1");

const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
const resultsDir = join(__dirname, "..", "results");
mkdirSync(resultsDir, { recursive: true });
const profileDir = values.profile ? join(resultsDir, `${stamp}-profiles`) : undefined;
const say = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

async function main() {
  let system;
  if (values.start) {
    say(`starting the system (scripts/start.mjs${values["no-build"] ? " --no-build" : ""}), log in bench/results/${stamp}-system.log`);
    system = await startSystem({ build: !values["no-build"], logFile: join(resultsDir, `${stamp}-system.log`), profileDir, gatewayProcesses: num("gateway-processes") });
  } else {
    await waitHealthy(GATEWAY_URL, 5000, "/health").catch(() => {
      throw new Error(`no system at ${GATEWAY_URL}: run \`npm start\` in another terminal, or pass --start`);
    });
  }
  const ready = await call(GATEWAY_URL, "GET", "/health/ready");
  if (ready.status !== 200) throw new Error(`/health/ready → ${ready.status}: ${ready.text}`);
  // Queried once the system is up: on a fresh machine its database exists only from then on.
  const machine = await machineFacts();
  say(`machine: ${JSON.stringify(machine)}`);
  // What serves the run, read off the machine rather than taken from our own options.
  const gateways = gatewayProcesses();
  say(`gateway processes: ${gateways ?? "unknown"}`);

  const observer = new StoreObserver();
  const results: Record<string, any> = {};
  const timeoutMs = num("timeout-seconds") * 1000;
  try {
    if (selected.includes("lifecycle")) {
      results.lifecycle = {};
      for (const replicas of replicaSet) {
        const extra = replicas === 2 ? await startExtraWorker({ logFile: join(resultsDir, `${stamp}-extra-worker.log`), profileDir }) : undefined;
        try {
          const tenant = await createTenant(`life-r${replicas}`);
          say(`lifecycle, ${replicas} worker replica(s): warm-up`);
          await warmUp(tenant, observer);
          say(`lifecycle, ${replicas} replica(s): saturation, ${num("count")} applies over ${num("connections")} connections`);
          await observer.vacuum();
          const saturation = await lifecycleSaturation(tenant, observer, { count: num("count"), connections: num("connections"), label: `r${replicas}`, timeoutMs });
          say(`  → ${saturation.resources_per_s} resources/s`);
          say(`lifecycle, ${replicas} replica(s): ${num("rate")} applies/s for ${num("rate-seconds")} s`);
          const fixed = await lifecycleFixedRate(tenant, observer, { rate: num("rate"), seconds: num("rate-seconds"), label: `r${replicas}` });
          say(`  → apply-to-ready p50/p95/p99 ${fixed.apply_to_ready_ms.p50}/${fixed.apply_to_ready_ms.p95}/${fixed.apply_to_ready_ms.p99} ms`);
          results.lifecycle[`replicas_${replicas}`] = { saturation, fixed_rate: fixed };
        } finally {
          if (extra) await stopChild(extra);
        }
      }
    }
    if (selected.includes("worker")) {
      results.worker = {};
      for (const replicas of replicaSet) {
        const extra = replicas === 2 ? await startExtraWorker({ logFile: join(resultsDir, `${stamp}-extra-worker.log`), profileDir }) : undefined;
        try {
          say(`worker path, ${replicas} replica(s): ${num("count")} no-op events`);
          await workerBench({ count: 200, timeoutMs });
          results.worker[`replicas_${replicas}`] = await workerBench({ count: num("count"), timeoutMs });
          say(`  → ${results.worker[`replicas_${replicas}`].events_per_s} events/s`);
        } finally {
          if (extra) await stopChild(extra);
        }
      }
    }
    if (selected.includes("gateway")) {
      say(`gateway: ${num("gw-seconds")} s per target, ${num("gw-connections")} connections`);
      results.gateway = await gatewayBench(await createTenant("gateway"), observer, { seconds: num("gw-seconds"), connections: num("gw-connections") });
      say(`  → authenticated ${results.gateway.authenticated_get.req_per_s} req/s`);
    }
    if (selected.includes("dead-letter")) {
      say(`dead letters: ${num("dl-count")} permanently failing events`);
      const tenant = await createTenant("deadletter", { database: { db_name: "pragma_bench_does_not_exist" } });
      results.dead_letter = await deadLetterBench(tenant, observer, { count: num("dl-count"), timeoutMs });
      say(`  → ${JSON.stringify(results.dead_letter)}`);
    }
    if (selected.includes("reference")) {
      say(`reference pipeline (express + pg-boss): saturation ${num("count")}, then ${num("rate")}/s for ${num("rate-seconds")} s`);
      results.reference = await referenceBench({ count: num("count"), connections: num("connections"), rate: num("rate"), seconds: num("rate-seconds"), timeoutMs, profileDir });
      say(`  → ${results.reference.saturation.items_per_s} items/s`);
    }
    if (selected.includes("watch")) {
      say(`watch: ${num("watch-streams")} streams on the gateway during the lifecycle benchmark`);
      results.watch = await watchBench(await createTenant("watch"), observer, {
        streams: num("watch-streams"),
        measuring: num("watch-measuring"),
        count: num("count"),
        connections: num("connections"),
        rate: num("rate"),
        seconds: num("rate-seconds"),
        timeoutMs,
        say,
      });
      say(`  → ${JSON.stringify(results.watch)}`);
    }
    if (selected.includes("versus")) {
      results.versus = await versus(observer, timeoutMs);
      say(`  → median ratio ${results.versus.median_ratio}×`);
    }
  } finally {
    await observer.close();
    if (system) say("stopping the system (SIGTERM)");
    await stopAll();
  }

  const rows = tableRows(results);
  const notes = [
    "Lifecycle ready time = the store's `updated_at` on the row that became ready (its own clock, same machine); latency counts from when the apply was due (open loop), so driver lag cannot hide queueing. A 1-in-10 sample is polled over HTTP every 10 ms as a cross-check; saturation runs GET a 200-resource sample to check the API shows them ready.",
    "Reference = one process: express 5 POST /items inserting a row and enqueueing a pg-boss 10 job in the same transaction, 4 pg-boss workers (batch 50, notifyWorker after each commit) marking rows done; measured with the same drivers and the same timestamp rule.",
    "Load generator and system share the same 2 cores; nothing here is network-bound.",
    `Gateway processes serving this run: ${gateways ?? "unknown"} (GATEWAY_PROCESSES; --start sets it from --gateway-processes). The authenticated GET reads one resource over and over, so after the first request it is answered from the gateway's resource cache; the no-cache row sends Cache-Control: no-cache, which reads from the store every time.`,
    "Before each of our saturation runs the bench runs VACUUM (ANALYZE) on the store's tables: this machine's PostgreSQL has autovacuum off, and the reference gets a fresh database every run.",
  ];
  const run = { started_at: startedAt.toISOString(), machine, gateway_processes: gateways, options: values, rows, notes, results };
  const md = markdown(run);
  writeFileSync(join(resultsDir, `${stamp}.json`), JSON.stringify(run, null, 2));
  writeFileSync(join(resultsDir, `${stamp}.md`), md + "\n## Details\n\n```json\n" + JSON.stringify(results, null, 2) + "\n```\n");
  process.stdout.write(`\n${md}\nWritten: bench/results/${stamp}.md and .json${profileDir ? `; CPU profiles in bench/results/${stamp}-profiles (summarise: pnpm --filter @pragma/bench profile ${profileDir})` : ""}\n`);
}

/**
 * Ours against the reference in alternating rounds (ours first, then the reference first,
 * …), saturation only. The machine's speed drifts by tens of percent within minutes
 * (other tenants of the host), which a single pair of runs minutes apart cannot tell from
 * a difference between the two systems; the median of per-round ratios can.
 */
async function versus(observer: StoreObserver, timeoutMs: number) {
  const replicas = num("versus-replicas");
  const extra = replicas === 2 ? await startExtraWorker({ logFile: join(resultsDir, `${stamp}-extra-worker.log`), profileDir }) : undefined;
  try {
    const tenant = await createTenant(`versus-r${replicas}`);
    await warmUp(tenant, observer);
    const rounds = [];
    for (let i = 0; i < num("rounds"); i++) {
      let ours: Awaited<ReturnType<typeof lifecycleSaturation>> | undefined;
      let ref: { items_per_s: number } | undefined;
      const runOurs = async () => {
        say(`versus round ${i + 1}: ours (${replicas} worker replica(s)), ${num("count")} applies`);
        await observer.vacuum();
        ours = await lifecycleSaturation(tenant, observer, { count: num("count"), connections: num("connections"), label: `v${i}`, timeoutMs });
      };
      const runRef = async () => {
        say(`versus round ${i + 1}: reference, ${num("count")} requests`);
        ref = (await referenceBench({ count: num("count"), connections: num("connections"), rate: 0, seconds: 0, timeoutMs, profileDir, fixedRate: false })).saturation;
      };
      if (i % 2 === 0) {
        await runOurs();
        await runRef();
      } else {
        await runRef();
        await runOurs();
      }
      const ratio = ours!.resources_per_s / ref!.items_per_s;
      rounds.push({ ours_resources_per_s: ours!.resources_per_s, ours_cpu_ms_per_resource: ours!.cpu_ms_per_resource, reference_items_per_s: ref!.items_per_s, ratio: Number(ratio.toFixed(2)) });
      say(`  → ours ${ours!.resources_per_s}/s, reference ${ref!.items_per_s}/s, ${ratio.toFixed(2)}×`);
    }
    const ratios = rounds.map((r) => r.ratio).sort((a, b) => a - b);
    const median = ratios.length % 2 ? ratios[(ratios.length - 1) / 2]! : (ratios[ratios.length / 2 - 1]! + ratios[ratios.length / 2]!) / 2;
    return { replicas, rounds, median_ratio: Number(median.toFixed(2)) };
  } finally {
    if (extra) await stopChild(extra);
  }
}

function tableRows(r: Record<string, any>): Row[] {
  const rows: Row[] = [];
  if (r.watch) {
    const w = r.watch;
    rows.push({ benchmark: `watch (${w.streams} streams)`, measure: "lifecycle saturation without / with the streams: resources/s", value: `${w.without_streams.resources_per_s} / ${w.with_streams.resources_per_s} (${w.ratio_with_to_without}×; ${w.megabytes_delivered} MB delivered)`, verdict: "n/a" });
    rows.push({ benchmark: `watch (${w.streams} streams)`, measure: "saturation: commit → delivery of ready, p50 / p99 ms", value: `${w.with_streams.delivery_ms.p50} / ${w.with_streams.delivery_ms.p99} (${w.with_streams.delivery_ms.count} samples)`, verdict: "n/a" });
    const d = w.fixed_rate_with_streams.delivery_ms;
    rows.push({ benchmark: `watch (${w.streams} streams)`, measure: `${w.fixed_rate_with_streams.rate} applies/s: commit → delivery p50 / p99 ms`, value: `${d.p50} / ${d.p99} (${d.count} samples)`, target: "p99 < 100 ms", verdict: verdict(d.p99 < 100) });
  }
  const ref = r.reference;
  let bestOurs = 0;
  let ourP99: number | undefined;
  for (const [key, v] of Object.entries<any>(r.lifecycle ?? {})) {
    const n = key.split("_")[1];
    const rps = v.saturation.resources_per_s;
    bestOurs = Math.max(bestOurs, rps || 0);
    rows.push({ benchmark: `lifecycle (${n} worker${n === "1" ? "" : "s"})`, measure: "saturation: resources/s, apply → ready", value: `${rps} (${v.saturation.ready}/${v.saturation.applies_accepted} ready, ${v.saturation.seconds_first_apply_to_last_ready} s; applies alone ${v.saturation.apply_http_rps}/s)`, target: "≥ 1,000/s", verdict: verdict(rps >= 1000) });
    rows.push({ benchmark: `lifecycle (${n} worker${n === "1" ? "" : "s"})`, measure: "saturation: CPU ms per resource, by process", value: formatCpu(v.saturation.cpu_ms_per_resource ?? null), verdict: "n/a" });
    const f = v.fixed_rate.apply_to_ready_ms;
    if (n === "1") ourP99 = f.p99;
    rows.push({ benchmark: `lifecycle (${n} worker${n === "1" ? "" : "s"})`, measure: `${v.fixed_rate.rate} applies/s: apply → ready p50 / p95 / p99 ms`, value: `${f.p50} / ${f.p95} / ${f.p99} (HTTP-polled sample p99 ${v.fixed_rate.http_sample_apply_to_ready_ms.p99}; not ready ${v.fixed_rate.not_ready})`, target: "p99 < 100 ms", verdict: verdict(f.p99 < 100) });
  }
  for (const [key, v] of Object.entries<any>(r.worker ?? {})) {
    const n = key.split("_")[1];
    rows.push({ benchmark: `worker path (${n} replica${n === "1" ? "" : "s"})`, measure: "no-op events: work message → succeeded result", value: `${v.events_per_s} events/s (${v.succeeded}/${v.events} in ${v.seconds} s${v.result_messages === undefined ? "" : `; ${v.result_messages} result messages`})`, verdict: "n/a" });
  }
  if (ref) {
    rows.push({ benchmark: "reference (express + pg-boss)", measure: "saturation: items/s, request → done", value: `${ref.saturation.items_per_s} (requests alone ${ref.saturation.request_http_rps}/s)`, verdict: "n/a" });
    const f = ref.fixed_rate.request_to_done_ms;
    rows.push({ benchmark: "reference (express + pg-boss)", measure: `${ref.fixed_rate.rate} req/s: request → done p50 / p95 / p99 ms`, value: `${f.p50} / ${f.p95} / ${f.p99}`, verdict: "n/a" });
    if (bestOurs) {
      const ratio = bestOurs / ref.saturation.items_per_s;
      // With paired rounds in the run, they carry the verdict (see versus()).
      const judged = r.versus ? {} : { target: "≥ 1.0×", verdict: verdict(ratio >= 1) };
      rows.push({ benchmark: "ours ÷ reference", measure: "throughput (best replica count, this single pair of runs)", value: `${ratio.toFixed(2)}×`, verdict: "n/a", ...judged });
    }
    if (ourP99 !== undefined) rows.push({ benchmark: "ours ÷ reference", measure: "p99 latency at the fixed rate (1 worker; lower is better)", value: `${(ourP99 / f.p99).toFixed(2)}×`, verdict: "n/a" });
  }
  const v = r.versus;
  if (v) {
    const n = `${v.replicas} worker${v.replicas === 1 ? "" : "s"}`;
    const each = v.rounds.map((x: any) => `${x.ours_resources_per_s} ÷ ${x.reference_items_per_s} = ${x.ratio}×`).join("; ");
    rows.push({ benchmark: "ours ÷ reference, paired", measure: `saturation in ${v.rounds.length} alternating rounds (ours with ${n}): resources/s ÷ items/s`, value: each, verdict: "n/a" });
    rows.push({ benchmark: "ours ÷ reference, paired", measure: "throughput, median of the rounds' ratios", value: `${v.median_ratio}×`, target: "≥ 1.0×", verdict: verdict(v.median_ratio >= 1) });
  }
  const g = r.gateway;
  if (g) {
    const fmt = (x: any) => `${x.req_per_s} req/s, p50 ${x.p50_ms} ms, p99 ${x.p99_ms} ms${x.non_2xx ? `, non-2xx ${x.non_2xx}` : ""}${x.errors ? `, errors ${x.errors}` : ""}`;
    rows.push({ benchmark: "gateway", measure: "authenticated GET /resources/{id} (rate limit on)", value: fmt(g.authenticated_get), target: "≥ 5,000 req/s", verdict: verdict(g.authenticated_get.req_per_s >= 5000 && !g.authenticated_get.non_2xx) });
    if (g.authenticated_get.cpu_ms_per_request) rows.push({ benchmark: "gateway", measure: "authenticated GET: CPU ms per request, by process", value: formatCpu(g.authenticated_get.cpu_ms_per_request), verdict: "n/a" });
    if (g.authenticated_get_no_cache) {
      rows.push({ benchmark: "gateway", measure: "authenticated GET, Cache-Control: no-cache (read from the store)", value: fmt(g.authenticated_get_no_cache), verdict: "n/a" });
      if (g.authenticated_get_no_cache.cpu_ms_per_request) rows.push({ benchmark: "gateway", measure: "authenticated GET, no-cache: CPU ms per request, by process", value: formatCpu(g.authenticated_get_no_cache.cpu_ms_per_request), verdict: "n/a" });
    }
    rows.push({ benchmark: "gateway", measure: "GET /health", value: fmt(g.health), verdict: "n/a" });
    rows.push({ benchmark: "gateway", measure: "bare express hello-world", value: fmt(g.express_hello), verdict: "n/a" });
  }
  const d = r.dead_letter;
  if (d) {
    rows.push({ benchmark: "dead letters", measure: `${d.events} permanent failures → all failed in the store (s)`, value: String(d.seconds_until_all_failed_in_store), verdict: "n/a" });
    if (d.routes !== "present") rows.push({ benchmark: "dead letters", measure: "dead-letter store / retry-all", value: `not measured: ${d.routes}`, verdict: "n/a" });
    else {
      rows.push({ benchmark: "dead letters", measure: "→ all in the dead-letter store (s)", value: `${d.seconds_until_all_in_dead_letter_store} (${d.dead_letter_entries} entries)`, verdict: "n/a" });
      rows.push({ benchmark: "dead letters", measure: "retry-all: call (s) / all re-queued and failed again (s) / back in store (s)", value: `${d.retry_all_call_seconds} / ${d.seconds_until_all_requeued_and_failed_again} / ${d.seconds_until_all_back_in_dead_letter_store} (retried ${d.retried_count})`, verdict: "n/a" });
      rows.push({ benchmark: "dead letters", measure: "lost", value: String(d.lost), target: "0", verdict: verdict(d.lost === 0) });
    }
  }
  return rows;
}

process.on("SIGINT", () => {
  void stopAll().then(() => process.exit(130));
});
main().catch(async (err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  await stopAll();
  process.exit(1);
});
