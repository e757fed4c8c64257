/**
 * Services as real OS processes (`node services/<name>/dist/main.js`, configured only
 * through the environment, exactly as `npm start` and a Deployment run them), for the
 * tests of N replicas: a process can be SIGKILLed, and two of them share nothing but the
 * database and broker. The built files, not tsx on the sources: four processes compiling
 * TypeScript at once took over 90 s to start on a busy 2-core machine. `npm test` builds
 * before jest; after `SKIP_BUILD=1`, build yourself (`npm run build`) or test stale code.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { managementUrl, splitCredentials, waitFor } from "@pragma/testing";

const ROOT = path.resolve(__dirname, "../..");
export type ServiceName = "registry" | "resource-store" | "gateway" | "provider-worker";

/** The log line each service writes once it serves (see its service.ts). */
const READY: Partial<Record<ServiceName, string>> = {
  registry: "registry serving",
  "resource-store": "resource store started",
};

export interface ServiceProcess {
  name: string;
  proc: ChildProcess;
  pid: number;
  exited: Promise<number | NodeJS.Signals | null>;
  /** Everything it wrote so far (stdout and stderr). */
  output(): string;
  /** Its JSON log records with this `msg`. */
  records(msg: string): Record<string, unknown>[];
  /** SIGTERM and wait (or SIGKILL). */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnService(service: ServiceName, label: string, env: Record<string, string>): Promise<ServiceProcess> {
  const dir = path.join(ROOT, "services", service);
  const main = path.join(dir, "dist", "main.js");
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm test does it unless SKIP_BUILD is set)`);
  const proc = spawn(process.execPath, [main], {
    cwd: dir,
    env: { PATH: process.env.PATH, NODE_ENV: "test", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  proc.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => proc.on("exit", (code, signal) => resolve(signal ?? code)));
  const records = (msg: string) =>
    out
      .split("\n")
      .filter((l) => l.includes(`"msg":"${msg}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const sp: ServiceProcess = {
    name: label,
    proc,
    pid: proc.pid!,
    exited,
    output: () => out,
    records,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exited;
    },
  };
  const ready = READY[service];
  if (ready) {
    let gone: string | undefined;
    void exited.then((how) => (gone = String(how)));
    await waitFor(
      async () => {
        if (gone !== undefined) throw new Error(`${label} exited (${gone}) before it was ready:\n${out}`);
        return out.includes(`"msg":"${ready}"`) || undefined;
      },
      { timeoutMs: 180_000, intervalMs: 100, message: `${label} never logged "${ready}"` },
    ).catch(async (err: Error) => {
      proc.kill("SIGKILL");
      throw new Error(`${err.message}\n${out.slice(-4000)}`);
    });
  }
  return sp;
}

/**
 * Messages delivered to each connection a service opened in `vhost` (by the name it gives
 * its connection, e.g. "registry"), from the management API's channel statistics. One
 * connection per process, so this tells whether every replica took part. The broker
 * samples statistics every few seconds: poll for what you expect.
 */
export async function deliveriesPerConnection(vhost: string, connectionName: string): Promise<number[]> {
  const { base, authorization } = splitCredentials(managementUrl());
  const get = async <T>(p: string): Promise<T> => {
    const res = await fetch(`${base}${p}`, { headers: authorization ? { authorization } : {} });
    if (!res.ok) throw new Error(`GET ${p}: ${res.status}`);
    return (await res.json()) as T;
  };
  const v = encodeURIComponent(vhost);
  const conns = await get<{ name: string; client_properties?: { connection_name?: string } }[]>(`/api/vhosts/${v}/connections`);
  const ours = new Set(conns.filter((c) => c.client_properties?.connection_name === connectionName).map((c) => c.name));
  const channels = await get<{ connection_details?: { name?: string }; message_stats?: { deliver_get?: number } }[]>(`/api/vhosts/${v}/channels`);
  const per = new Map<string, number>([...ours].map((n) => [n, 0]));
  for (const ch of channels) {
    const conn = ch.connection_details?.name;
    if (conn && per.has(conn)) per.set(conn, per.get(conn)! + (ch.message_stats?.deliver_get ?? 0));
  }
  return [...per.values()];
}
