// `pnpm --filter @pragma/bench hop-floor [-- --requests 20000 --connections 32 --rounds 2]`:
// what the Auto API's architecture costs before any of its work, on this host. Two servers
// answer the same ~10 KB body (100 rows shaped like the Auto API bench's read), with no
// auth, validation, database or encoding:
//   - one express process (floor-http-server.ts): the HTTP exchange alone, what a
//     one-process auto-REST such as Platformatic DB pays before its query;
//   - express → RabbitMQ direct reply-to → a worker process → back (floor-gateway.ts,
//     floor-worker.ts), one message per request: the same exchange plus the hop.
// For each it prints req/s at saturation and CPU µs per request of every process, RabbitMQ
// and the load generator (this process) included. Needs only RabbitMQ (AMQP_URL); run it on
// a quiet host (RabbitMQ's column counts every vhost).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { startBenchServer } from "./child";
import { stopChild } from "./system";
import { cpuPerItem, formatCpu, processTree, processesOf } from "./cpu-share";

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    requests: { type: "string", default: "20000" },
    connections: { type: "string", default: "32" },
    rounds: { type: "string", default: "2" },
  },
});

interface Floor {
  name: string;
  port: number;
  procs: Map<string, string>;
}

async function measure(f: Floor, round: number): Promise<void> {
  const run = (amount: number) => autocannon({ url: `http://127.0.0.1:${f.port}/rows`, connections: Number(values.connections), amount, timeout: 10 });
  await run(3000);
  const requests = Number(values.requests);
  const pids = new Map([...f.procs, [String(process.pid), "autocannon"] as [string, string]]);
  const { result: r, secs, perItem } = await cpuPerItem(pids, requests, () => run(requests));
  process.stdout.write(`round ${round} ${f.name}: ${Math.round(requests / secs)} req/s (non-2xx ${r.non2xx}, errors ${r.errors}); CPU µs per request: ${formatCpu(perItem, true)}; load ${readFileSync("/proc/loadavg", "latin1").split(" ")[0]}\n`);
}

async function main() {
  const http = await startBenchServer("floor-http-server.ts");
  const worker = await startBenchServer("floor-worker.ts");
  const gateway = await startBenchServer("floor-gateway.ts");
  try {
    const floors: Floor[] = [
      { name: "express alone", port: http.port, procs: processTree(String(http.child.pid), "express") },
      {
        name: "express → RabbitMQ → worker",
        port: gateway.port,
        procs: new Map([...processTree(String(gateway.child.pid), "gateway"), ...processTree(String(worker.child.pid), "worker"), ...processesOf("rabbitmq")]),
      },
    ];
    for (let round = 1; round <= Number(values.rounds); round++) for (const f of round % 2 ? floors : [...floors].reverse()) await measure(f, round);
  } finally {
    await Promise.all([http, gateway, worker].map((s) => stopChild(s.child)));
  }
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
