// The infrastructure a scenario runs on. What a scenario restarts is a private instance this
// script starts and removes (PostgreSQL via initdb/pg_ctl as the postgres user, Redis via
// redis-server on a free port, RabbitMQ as a node of its own through
// infra/rabbitmq/local-cluster.sh); what it does not fault is the machine's shared server,
// with a database, vhost and key prefix of the run's own. The shared servers are never
// restarted or stopped.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { ROOT, say, sleep } from "./util";

export const PG_BIN = process.env.PG_BIN || "/usr/lib/postgresql/15/bin";
const CLUSTER_SCRIPT = join(ROOT, "infra", "rabbitmq", "local-cluster.sh");

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** One piece of infrastructure: its URL for the services, how to restart it, how to clean up. */
export interface Infra {
  url: string;
  /** Only private instances can be restarted. */
  restart?: () => Promise<void>;
  dispose(): Promise<void>;
}

// ---- PostgreSQL -------------------------------------------------------------------

/** A private PostgreSQL 15 cluster on a free port, trust auth, owned by the postgres user. */
export async function privatePostgres(): Promise<Infra & { port: number }> {
  const dir = mkdtempSync(join(tmpdir(), "pragma-chaos-pg-"));
  const uid = Number(run("id", ["-u", "postgres"]).trim());
  const gid = Number(run("id", ["-g", "postgres"]).trim());
  chownSync(dir, uid, gid);
  const port = await freePort();
  const data = join(dir, "data");
  const asPg = (bin: string, args: string[]) => run("runuser", ["-u", "postgres", "--", join(PG_BIN, bin), ...args]);
  asPg("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`;
  asPg("pg_ctl", ["-D", data, "-o", opts, "-l", join(dir, "server.log"), "-w", "start"]);
  say(`private PostgreSQL on 127.0.0.1:${port} (${dir})`);
  return {
    port,
    url: `postgresql://postgres@127.0.0.1:${port}/pragma`,
    async restart() {
      // -m fast: what `pg_ctlcluster … restart` does; every connection gets 57P01.
      asPg("pg_ctl", ["-D", data, "-o", opts, "-l", join(dir, "server.log"), "-m", "fast", "-w", "restart"]);
    },
    async dispose() {
      try {
        asPg("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } catch (err) {
        say(`private PostgreSQL stop: ${(err as Error).message}`);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A database of the run's own on a shared server (dropped at the end). */
export async function sharedDatabase(serverUrl: string, name: string): Promise<Infra> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async dispose() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch((e: Error) => say(`drop ${name}: ${e.message}`));
      await c.end();
    },
  };
}

/** The system's database on a private server: created once the server is up. */
export async function databaseOn(server: Infra & { port: number }): Promise<Infra> {
  const admin = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${server.port}/postgres` });
  await admin.connect();
  await admin.query(`CREATE DATABASE pragma`);
  await admin.end();
  return server;
}

// ---- Redis ------------------------------------------------------------------------

export async function privateRedis(): Promise<Infra> {
  const port = await freePort();
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      if (spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" }).stdout.trim() === "PONG") return;
      await sleep(100);
    }
    throw new Error(`private redis-server on ${port} did not answer`);
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGTERM");
    await exited;
  };
  await start();
  say(`private Redis on 127.0.0.1:${port}`);
  return {
    url: `redis://127.0.0.1:${port}`,
    async restart() {
      await stop();
      await start();
    },
    dispose: stop,
  };
}

/** Deletes the run's keys (`<prefix>*`) from a shared Redis: the worker's dedupe records live for days. */
export function deleteRedisKeys(url: string, prefix: string): void {
  const keys = spawnSync("redis-cli", ["-u", url, "--scan", "--pattern", `${prefix}*`], { encoding: "utf8" }).stdout.split("\n").filter(Boolean);
  for (let i = 0; i < keys.length; i += 500) spawnSync("redis-cli", ["-u", url, "del", ...keys.slice(i, i + 500)], { stdio: "ignore" });
}

// ---- RabbitMQ ---------------------------------------------------------------------

function clusterScript(dir: string, ...args: string[]): string {
  return run("bash", [CLUSTER_SCRIPT, ...args], { PRAGMA_CLUSTER_DIR: dir });
}

/** A vhost of the run's own on the machine's broker (deleted at the end). */
export async function sharedVhost(baseUrl: string, vhost: string): Promise<Infra> {
  run("rabbitmqctl", ["-q", "add_vhost", vhost]);
  run("rabbitmqctl", ["-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]);
  return {
    url: `${baseUrl.replace(/\/$/, "")}/${encodeURIComponent(vhost)}`,
    async dispose() {
      spawnSync("rabbitmqctl", ["-q", "delete_vhost", vhost]);
    },
  };
}

/**
 * A RabbitMQ node of its own (pragma1@localhost on 127.0.0.1:5701, data under
 * /tmp/pragma-chaos-rabbit): node 1 of local-cluster.sh in another directory. It cannot run
 * while `bench cluster` or the rabbit-node-lost scenario holds those ports.
 */
export async function privateRabbit(): Promise<Infra> {
  const dir = "/tmp/pragma-chaos-rabbit";
  clusterScript(dir, "start-node", "1");
  say("private RabbitMQ node pragma1@localhost on 127.0.0.1:5701");
  return {
    url: "amqp://guest:guest@127.0.0.1:5701",
    async restart() {
      clusterScript(dir, "stop-node", "1");
      clusterScript(dir, "start-node", "1");
    },
    async dispose() {
      spawnSync("bash", [CLUSTER_SCRIPT, "clean"], { env: { ...process.env, PRAGMA_CLUSTER_DIR: dir }, stdio: "ignore" });
    },
  };
}

/** The 3-node cluster of local-cluster.sh; `loseLeaderOf` stops the node leading a queue. */
export async function rabbitCluster(): Promise<Infra & { loseLeaderOf(queue: string): Promise<string> }> {
  const dir = "/tmp/pragma-chaos-cluster";
  say("starting the 3-node RabbitMQ cluster (infra/rabbitmq/local-cluster.sh start)");
  clusterScript(dir, "start");
  const alive = new Set([1, 2, 3]);
  return {
    url: clusterScript(dir, "urls").trim(),
    async loseLeaderOf(queue) {
      const ask = [...alive][0]!;
      const rows = JSON.parse(clusterScript(dir, "ctl", String(ask), "-q", "list_queues", "name", "leader", "--formatter", "json")) as { name: string; leader: string }[];
      const m = /^pragma(\d)@/.exec(rows.find((r) => r.name === queue)?.leader ?? "");
      if (!m) throw new Error(`no leader for ${queue}`);
      clusterScript(dir, "stop-node", m[1]!);
      alive.delete(Number(m[1]));
      return `pragma${m[1]}@localhost`;
    },
    async dispose() {
      spawnSync("bash", [CLUSTER_SCRIPT, "clean"], { env: { ...process.env, PRAGMA_CLUSTER_DIR: dir }, stdio: "ignore" });
    },
  };
}
