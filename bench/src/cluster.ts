// A node loss under load: `pnpm --filter @pragma/bench cluster [-- options]` (see README.md).
//
// Starts a 3-node RabbitMQ cluster on this machine (infra/rabbitmq/local-cluster.sh), runs
// the system against it (scripts/start.mjs with AMQP_URL listing the three nodes, plus one
// extra worker), applies 5,000 resources through the gateway, stops the node that leads the
// work queue in the middle, and reports how many became ready, how many were lost and the
// pause clients saw. Run on demand, never in CI.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { GATEWAY_URL, ROOT, sleep } from "./env";
import { call, mapLimit } from "./http";
import { applyBody, waitSettled } from "./lifecycle";
import { round, summary } from "./stats";
import { StoreObserver } from "./store-observer";
import { createTenant, startExtraWorker, startSystem, stopAll } from "./system";

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    count: { type: "string", default: "5000" },
    connections: { type: "string", default: "32" },
    // Stop the leader once this share of the applies was answered.
    "stop-at": { type: "string", default: "0.5" },
    "timeout-seconds": { type: "string", default: "300" },
    "no-build": { type: "boolean", default: false },
    // Leave the cluster running afterwards (the stopped node stays stopped).
    keep: { type: "boolean", default: false },
  },
});
const COUNT = Number(values.count);
const CONNECTIONS = Number(values.connections);
const STOP_AT = Math.floor(COUNT * Number(values["stop-at"]));
const WORK_QUEUE = "work.pragma";
const CLUSTER = join(ROOT, "infra", "rabbitmq", "local-cluster.sh");

const say = (msg: string) => process.stderr.write(`[cluster ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function cluster(...args: string[]): string {
  const r = spawnSync("bash", [CLUSTER, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`local-cluster.sh ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** The node (1..3) whose replica leads `queue`, asked of a node that is still up. */
function leaderOf(queue: string, askNode: number): number {
  const rows = JSON.parse(cluster("ctl", String(askNode), "-q", "list_queues", "name", "leader", "--formatter", "json")) as { name: string; leader: string }[];
  const row = rows.find((r) => r.name === queue);
  const m = row && /^pragma(\d)@/.exec(row.leader);
  if (!m) throw new Error(`no leader for ${queue} in ${JSON.stringify(rows)}`);
  return Number(m[1]);
}

function membersOf(queue: string, askNode: number): string[] {
  const rows = JSON.parse(cluster("queues", String(askNode), "-q", "quorum_status", queue, "--formatter", "json")) as Record<string, string>[];
  return rows.map((r) => `${r["Node Name"]}: ${r["Raft State"]}`);
}

async function main() {
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const resultsDir = join(__dirname, "..", "results");
  mkdirSync(resultsDir, { recursive: true });

  say("starting the 3-node RabbitMQ cluster (infra/rabbitmq/local-cluster.sh start)");
  process.stderr.write(cluster("start"));
  const urls = cluster("urls").trim();
  // The services, the extra worker and nothing else get the cluster: the bench itself
  // talks only HTTP (gateway) and SQL (the store's timestamps).
  process.env.AMQP_URL = urls;

  const observer = new StoreObserver();
  try {
    say(`starting the system against ${urls.replace(/\/\/[^@]*@/g, "//")}, log in bench/results/${stamp}-system.log`);
    await startSystem({ build: !values["no-build"], logFile: join(resultsDir, `${stamp}-system.log`), gatewayProcesses: 1 });
    await startExtraWorker({ logFile: join(resultsDir, `${stamp}-extra-worker.log`) });
    const tenant = await createTenant("cluster");
    const before = leaderOf(WORK_QUEUE, 1);
    say(`${WORK_QUEUE} is led by pragma${before}; ${COUNT} applies over ${CONNECTIONS} connections, pragma${before} stopped after ${STOP_AT}`);

    const prefix = `cl-${Date.now().toString(36)}-`;
    const names = Array.from({ length: COUNT }, (_, i) => `${prefix}${String(i).padStart(6, "0")}`);
    const accepted = new Set<string>();
    const okAt: number[] = [];
    const latencies: number[] = [];
    let errors = 0;
    let answered = 0;
    let stoppedAt = 0;
    let stopTookMs = 0;
    let stopping: Promise<void> | undefined;
    const t0 = Date.now();

    // A client that retries a failed apply (the apply is idempotent by name), as a user's
    // CI would: an error is a pause it sees, not a resource it loses.
    await mapLimit(
      names.map((n, i) => [n, i] as const),
      CONNECTIONS,
      async ([name, i]) => {
        const first = Date.now();
        for (;;) {
          const res = await call(GATEWAY_URL, "POST", "/resources/apply", { headers: tenant.member, body: applyBody(name, i), timeoutMs: 30_000 }).catch((err: Error) => ({
            status: 0,
            text: err.message,
          }));
          if (res.status === 200) {
            accepted.add(name);
            okAt.push(Date.now());
            latencies.push(Date.now() - first);
            break;
          }
          errors++;
          await sleep(200);
        }
        if (++answered === STOP_AT) {
          stopping = (async () => {
            const leader = leaderOf(WORK_QUEUE, before === 1 ? 2 : 1);
            say(`${answered} applies answered: stopping pragma${leader}, the leader of ${WORK_QUEUE}`);
            stoppedAt = Date.now();
            cluster("stop-node", String(leader));
            stopTookMs = Date.now() - stoppedAt;
            say(`pragma${leader} stopped in ${stopTookMs} ms`);
          })();
        }
      },
    );
    const applyEnd = Date.now();
    await stopping;
    say(`applies done in ${round((applyEnd - t0) / 1000, 1)} s (${errors} failed attempts retried); waiting for the resources to settle`);
    const timeoutMs = Number(values["timeout-seconds"]) * 1000;
    const { counts, timedOut } = await waitSettled(observer, tenant, prefix, accepted.size, timeoutMs);
    const alive = [1, 2, 3].filter((n) => spawnSync("bash", [CLUSTER, "ctl", String(n), "-q", "ping"]).status === 0);
    const newLeader = leaderOf(WORK_QUEUE, alive[0]!);

    // The pause: the longest stretch after the stop in which no apply was answered, and the
    // longest in which no resource became ready (the store's own timestamps).
    // The stop itself counts as a point, so "nothing after the stop" is not a zero pause;
    // null means nothing ever came after it.
    const gaps = (times: number[]) => {
      const after = times.filter((t) => t >= stoppedAt);
      if (after.length === 0) return null;
      const sorted = [stoppedAt, ...after].sort((a, b) => a - b);
      let max = 0;
      for (let k = 1; k < sorted.length; k++) max = Math.max(max, sorted[k]! - sorted[k - 1]!);
      return max;
    };
    const readyTimes = [...(await observer.times(tenant, prefix, "ready")).values()];
    const ready = counts.ready?.n ?? 0;
    const failed = counts.failed?.n ?? 0;
    const report = {
      started_at: startedAt.toISOString(),
      resources: COUNT,
      applies_accepted: accepted.size,
      apply_attempts_failed_and_retried: errors,
      ready,
      failed,
      // Every apply is retried until accepted, so each of the COUNT must end ready or failed.
      lost: COUNT - ready - failed,
      still_pending: (counts.pending?.n ?? 0) + (counts.processing?.n ?? 0) + (counts.draft?.n ?? 0),
      timed_out: timedOut,
      stopped_node: `pragma${[1, 2, 3].find((n) => !alive.includes(n)) ?? "?"}@localhost`,
      work_queue_leader_before: `pragma${before}@localhost`,
      work_queue_leader_after: `pragma${newLeader}@localhost`,
      // `rabbitmqctl stop` returns once the node is down; it closes client connections near the end.
      node_stop_took_ms: stopTookMs,
      pause_ms: {
        longest_without_an_apply_answered: gaps(okAt),
        longest_without_a_resource_ready: gaps(readyTimes),
      },
      apply_latency_ms: summary(latencies),
      seconds_first_apply_to_last_ready: round((Math.max(...readyTimes) - t0) / 1000, 2),
      work_queue_members_after: membersOf(WORK_QUEUE, alive[0]!),
    };
    const file = join(resultsDir, `${stamp}-cluster.json`);
    writeFileSync(file, JSON.stringify(report, null, 2));
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    say(`written to ${file}`);
    if (report.lost !== 0) process.exitCode = 1;
  } finally {
    await observer.close();
    say("stopping the system");
    await stopAll();
    if (!values.keep) {
      say("stopping the cluster");
      spawnSync("bash", [CLUSTER, "stop"], { stdio: "inherit" });
    }
  }
}

main().catch((err) => {
  say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
