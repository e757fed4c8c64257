/**
 * Makes RabbitMQ's management API available to the integration tests, which give every
 * test file its own vhost and force-close connections through it.
 *
 * On a fresh machine the broker runs with no plugins enabled. When the API does not
 * answer and the broker is on this machine, global setup enables the plugin with the
 * broker's own CLI (`rabbitmq-plugins enable rabbitmq_management`, which works on the
 * running node) and waits for the API. It never touches a broker elsewhere: a remote
 * broker or a container must already serve the API, and the run fails naming the fix.
 *
 * The CLI talks to the node that RABBITMQ_NODENAME (or the default node of this host)
 * names, which need not be the broker at the AMQP URL. Before enabling anything we ask
 * that node for its listeners and require its AMQP port to be the URL's, so a second
 * local node (a cluster, another checkout's) is never changed by mistake.
 */
import { execFile } from "node:child_process";
import { connect } from "node:net";
import { splitCredentials } from "./rabbit";

export const MANAGEMENT_PLUGIN = "rabbitmq_management";

/** Opt-out: never change the local broker's plugins, only report what is missing. */
export const AUTO_ENABLE_ENV = "PRAGMA_TEST_ENABLE_RABBITMQ_PLUGINS";

/** The Erlang CLI boots a VM per call: seconds on an idle machine, far more on a busy one. */
const CLI_TIMEOUT_MS = 180_000;
const API_WAIT_MS = 180_000;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

export function isLocalHost(hostname: string): boolean {
  return LOOPBACK.has(hostname.toLowerCase()) || hostname.startsWith("127.");
}

/** The AMQP port a URL points at (5672 / 5671 by default). */
export function amqpPort(amqpUrl: string): number {
  const u = new URL(amqpUrl);
  return u.port ? Number(u.port) : u.protocol === "amqps:" ? 5671 : 5672;
}

type Listener = { port?: number; protocol?: string };
/** AMQP ports in `rabbitmq-diagnostics listeners --formatter json` output (`{"listeners": [...]}` in 3.10, a bare list elsewhere). */
export function amqpPortsOf(listenersJson: string): number[] {
  const parsed = JSON.parse(listenersJson) as Listener[] | { listeners?: Listener[] };
  const rows = Array.isArray(parsed) ? parsed : (parsed.listeners ?? []);
  return rows.filter((r) => r.protocol === "amqp" || r.protocol === "amqp/ssl").map((r) => Number(r.port));
}

async function managementAnswers(mgmtUrl: string, timeoutMs = 3_000): Promise<string | undefined> {
  const { base, authorization } = splitCredentials(mgmtUrl);
  try {
    const res = await fetch(`${base}/api/overview`, { headers: authorization ? { authorization } : {}, signal: AbortSignal.timeout(timeoutMs) });
    // 401 still means the plugin runs: the credentials are for checkInfra to report.
    return res.ok || res.status === 401 ? undefined : `GET /api/overview answered ${res.status}`;
  } catch (err) {
    return (err as Error).message;
  }
}

function tcpOpen(host: string, port: number, timeoutMs = 3_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: host.replace(/^\[|\]$/g, ""), port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.once("timeout", () => done(false));
  });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: CLI_TIMEOUT_MS, env }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`.trim();
      resolve({ ok: !err, out: err && !out ? err.message : out });
    });
  });
}

export interface EnsureManagementOptions {
  amqpUrl: string;
  mgmtUrl: string;
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

/**
 * Resolves once the management API answers at `mgmtUrl`, enabling the plugin on a local
 * broker first if needed. "not local" / "broker down": left as is for the caller's checks
 * (checkInfra) to report. Throws an error that says what to do when it cannot.
 */
export async function ensureManagementApi({ amqpUrl, mgmtUrl, log = () => undefined, env = process.env }: EnsureManagementOptions): Promise<"answering" | "enabled" | "not local" | "broker down"> {
  const first = await managementAnswers(mgmtUrl);
  if (first === undefined) return "answering";

  const { base } = splitCredentials(mgmtUrl);
  const amqpHost = new URL(amqpUrl).hostname;
  // A broker elsewhere (a remote host, a container) is not ours to change: checkInfra
  // reports its missing API with the fix.
  if (!isLocalHost(amqpHost)) return "not local";
  // Nor is a broker that is not running: checkInfra says how to start it.
  if (!(await tcpOpen(amqpHost, amqpPort(amqpUrl)))) return "broker down";
  const manual = `enable it by hand (\`rabbitmq-plugins enable ${MANAGEMENT_PLUGIN}\`, which works on the running node) or point PRAGMA_TEST_RABBITMQ_MGMT_URL at its management API`;
  const notHere = (why: string) =>
    new Error(`RabbitMQ management API did not answer at ${base} (${first}); ${why}. Integration tests give every test file its own vhost through it: ${manual}.`);

  if (env[AUTO_ENABLE_ENV] === "0") throw notHere(`${AUTO_ENABLE_ENV}=0 forbids enabling it on the local broker`);

  // Which node would the CLI change? Only the one serving the URL's AMQP port.
  const port = amqpPort(amqpUrl);
  const listeners = await run("rabbitmq-diagnostics", ["-q", "listeners", "--formatter", "json"], env);
  if (!listeners.ok) {
    throw notHere(
      `the broker is local but its CLI could not reach it (rabbitmq-diagnostics: ${listeners.out.split("\n").slice(0, 3).join(" ")}); ` +
        "run the tests as a user that may use the RabbitMQ CLI (root or rabbitmq), or set RABBITMQ_NODENAME to the node",
    );
  }
  let ports: number[];
  try {
    ports = amqpPortsOf(listeners.out);
  } catch {
    throw notHere(`rabbitmq-diagnostics listeners printed something that is not JSON: ${listeners.out.slice(0, 200)}`);
  }
  if (!ports.includes(port)) {
    throw notHere(
      `the node the local RabbitMQ CLI reaches (RABBITMQ_NODENAME=${env.RABBITMQ_NODENAME ?? "<default>"}) listens for AMQP on ${ports.join(", ") || "no port"}, not ${port}; ` +
        "set RABBITMQ_NODENAME (and RABBITMQ_ENABLED_PLUGINS_FILE if the node uses its own) to the broker's node",
    );
  }

  log(`RabbitMQ management plugin is off on the local broker (AMQP port ${port}): enabling it (rabbitmq-plugins enable ${MANAGEMENT_PLUGIN})`);
  const enabled = await run("rabbitmq-plugins", ["enable", MANAGEMENT_PLUGIN], env);
  if (!enabled.ok || /could not update|different path/i.test(enabled.out)) {
    throw notHere(`\`rabbitmq-plugins enable ${MANAGEMENT_PLUGIN}\` failed: ${enabled.out.split("\n").slice(-3).join(" ")}`);
  }

  const deadline = Date.now() + API_WAIT_MS;
  let last: typeof first;
  for (;;) {
    const err = await managementAnswers(mgmtUrl);
    if (err === undefined) {
      log(`RabbitMQ management API answers at ${base}`);
      return "enabled";
    }
    last = err;
    if (Date.now() >= deadline) {
      throw new Error(
        `enabled ${MANAGEMENT_PLUGIN} on the local broker, but its API still does not answer at ${base} after ${API_WAIT_MS / 1000} s (${last}). ` +
          "If the node serves it on another port, set PRAGMA_TEST_RABBITMQ_MGMT_URL.",
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
