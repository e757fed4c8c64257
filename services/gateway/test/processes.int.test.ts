import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { get } from "node:http";
import { createServer } from "node:net";
import path from "node:path";
import { createTestEnv, waitFor, type TestEnv } from "@pragma/testing";
import { jwtKeysJson } from "../src/config";
import { JWT_KEYS, SERVER_KEY } from "./support";

const GATEWAY_DIR = path.resolve(__dirname, "..");
// tsx as a loader of this very process, inherited by the workers cluster.fork() starts.
const TSX_LOADER = require.resolve("tsx", { paths: [GATEWAY_DIR] });

interface Gateway {
  proc: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | NodeJS.Signals | null>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** `GATEWAY_PROCESSES=2 node src/main.ts`, configured through its environment as in production. */
async function spawnGateway(env: TestEnv, extra: Record<string, string> = {}): Promise<Gateway> {
  const port = await freePort();
  const proc = spawn(process.execPath, ["--import", TSX_LOADER, path.join(GATEWAY_DIR, "src/main.ts")], {
    cwd: GATEWAY_DIR,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      AMQP_URL: env.amqpUrl,
      REDIS_URL: env.redisUrl,
      REDIS_KEY_PREFIX: env.redisPrefix,
      GATEWAY_PORT: String(port),
      GATEWAY_PROCESSES: "2",
      PRAGMA_SERVER_KEY: SERVER_KEY,
      JWT_KEYS: jwtKeysJson(JWT_KEYS),
      JWT_ACTIVE_KID: "k-new",
      ...extra,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  proc.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => proc.on("exit", (code, signal) => resolve(signal ?? code)));
  return { proc, port, output: () => out, exited };
}

/** Each request on a connection of its own, so the primary hands them to either process. */
function status(port: number, p: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path: p, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on("error", reject);
  });
}

/** The gateway processes the first one forked (tsx may run an esbuild child of its own beside them). */
const childrenOf = (pid: number) =>
  readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, "latin1");
        if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) !== pid) return false;
        return readFileSync(`/proc/${p}/cmdline`, "latin1").includes("src/main.ts");
      } catch {
        return false;
      }
    })
    .map(Number);

const listening = (g: Gateway) => (g.output().match(/"msg":"gateway listening"/g) ?? []).length;

describe("GATEWAY_PROCESSES: several gateway processes on one port", () => {
  jest.setTimeout(60_000);
  let env: TestEnv;
  const started: Gateway[] = [];
  beforeAll(async () => {
    env = await createTestEnv("gw-processes");
  });
  afterAll(async () => {
    for (const g of started) if (g.proc.exitCode === null && g.proc.signalCode === null) g.proc.kill("SIGKILL");
    await env?.dispose();
  });

  it("two processes serve the port; SIGTERM to the first drains both and it exits 0", async () => {
    const g = await spawnGateway(env);
    started.push(g);
    await waitFor(async () => listening(g) === 2 || undefined, { timeoutMs: 30_000, message: `two gateways never listened:\n${g.output()}` });
    expect(childrenOf(g.proc.pid!)).toHaveLength(2);
    const answers = await Promise.all(Array.from({ length: 20 }, () => status(g.port, "/health")));
    expect(answers.every((s) => s === 200)).toBe(true);

    g.proc.kill("SIGTERM");
    expect(await g.exited).toBe(0);
    expect((g.output().match(/"msg":"gateway stopped"/g) ?? []).length).toBe(2);
    expect(g.output()).toContain('"msg":"gateway processes stopped"');
  });

  it("METRICS_PORT: the first process serves the sum of both processes' metrics", async () => {
    const metricsPort = await freePort();
    const g = await spawnGateway(env, { METRICS_PORT: String(metricsPort) });
    started.push(g);
    await waitFor(async () => listening(g) === 2 || undefined, { timeoutMs: 30_000, message: `two gateways never listened:\n${g.output()}` });
    // Round robin over connections: both processes answer some of these.
    const answers = await Promise.all(Array.from({ length: 20 }, () => status(g.port, "/health")));
    expect(answers.every((s) => s === 200)).toBe(true);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const sample = (re: RegExp) => Number(re.exec(text)?.[1]);
    expect(sample(/^pragma_http_request_duration_seconds_count\{[^}]*route="\/health"[^}]*\} (\d+)$/m)).toBe(20);
    expect(sample(/^pragma_broker_connected\{[^}]*\} (\d+)$/m)).toBe(2);
    g.proc.kill("SIGTERM");
    expect(await g.exited).toBe(0);
  });

  it("a process that dies on its own stops the other, and the first exits 1 so its supervisor sees it", async () => {
    const g = await spawnGateway(env);
    started.push(g);
    await waitFor(async () => listening(g) === 2 || undefined, { timeoutMs: 30_000, message: `two gateways never listened:\n${g.output()}` });
    const [victim, survivor] = childrenOf(g.proc.pid!);
    process.kill(victim!, "SIGKILL");
    expect(await g.exited).toBe(1);
    expect(g.output()).toContain("a gateway process exited on its own; stopping the others");
    expect(() => process.kill(survivor!, 0)).toThrow();
  });

  it("refuses to start when the secrets would be generated per process, naming them", async () => {
    const g = await spawnGateway(env, { PRAGMA_SERVER_KEY: "", JWT_KEYS: "", JWT_ACTIVE_KID: "" });
    started.push(g);
    expect(await g.exited).toBe(1);
    expect(g.output()).toContain("GATEWAY_PROCESSES > 1 needs these set");
    expect(g.output()).toMatch(/"generated":\["PRAGMA_SERVER_KEY","JWT_KEYS"\]/);
    expect(childrenOf(g.proc.pid!)).toHaveLength(0);
  });
});
