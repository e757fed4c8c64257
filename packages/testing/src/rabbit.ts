/**
 * RabbitMQ isolation for integration tests: one fresh vhost per test file, so the
 * code under test runs its production path (its own topology, its own names) without
 * seeing other files' queues. Also lets a test force-close a vhost's connections,
 * which is how the reconnect paths of @pragma/messaging are exercised for real.
 *
 * Talks to the management HTTP API with fetch. There is no Docker here, so this reads
 * URLs from the environment and defaults to the local broker.
 */
import { newUlid } from "@pragma/ids";

const DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672";
const DEFAULT_MGMT_URL = "http://guest:guest@127.0.0.1:15672";

export interface TestVhost {
  vhost: string;
  /** amqp URL of the broker with this vhost selected. */
  amqpUrl: string;
  dispose(): Promise<void>;
}

/** The broker's AMQP URL without a vhost (the default vhost "/"). */
export function amqpUrl(): string {
  return process.env.PRAGMA_TEST_AMQP_URL ?? DEFAULT_AMQP_URL;
}

/** The management API base URL, credentials included (as configured). */
export function managementUrl(): string {
  return process.env.PRAGMA_TEST_RABBITMQ_MGMT_URL ?? DEFAULT_MGMT_URL;
}

/** Splits a URL with user:password into a credential-free base and a Basic auth header (fetch refuses credentials in URLs). */
export function splitCredentials(url: string): { base: string; authorization: string | undefined; username: string | undefined } {
  const u = new URL(url);
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : "";
  u.username = "";
  u.password = "";
  const base = u.toString().replace(/\/+$/, "");
  const authorization = username === undefined ? undefined : `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  return { base, authorization, username };
}

/** The AMQP URL selecting `vhost` (the vhost is the URL path, percent-encoded). */
export function vhostUrl(baseAmqpUrl: string, vhost: string): string {
  const u = new URL(baseAmqpUrl);
  // URL's pathname setter would leave "/" unencoded, but a vhost name may contain it.
  return `${u.protocol}//${u.username ? `${u.username}${u.password ? `:${u.password}` : ""}@` : ""}${u.host}/${encodeURIComponent(vhost)}${u.search}`;
}

/** A vhost name unique across runs and parallel jest workers. */
export function uniqueVhostName(label = "test"): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40) || "test";
  return `pragma-test-${clean}-${newUlid().toLowerCase()}`;
}

async function api(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<Response> {
  const { base, authorization } = splitCredentials(managementUrl());
  const headers: Record<string, string> = { "content-type": "application/json", ...extraHeaders };
  if (authorization) headers.authorization = authorization;
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new Error(
      `RabbitMQ management API did not answer at ${base} (${(err as Error).message}). ` +
        "Integration tests need it: run `rabbitmq-plugins enable rabbitmq_management` on the broker, " +
        "or set PRAGMA_TEST_RABBITMQ_MGMT_URL.",
      { cause: err },
    );
  }
  return res;
}

async function expectOk(res: Response, what: string, allow404 = false): Promise<void> {
  if (res.ok || (allow404 && res.status === 404)) return;
  const text = await res.text().catch(() => "");
  throw new Error(`RabbitMQ management API: ${what} failed with ${res.status} ${res.statusText}: ${text}`);
}

const enc = encodeURIComponent;

/** Creates a fresh vhost, grants the AMQP user full permissions on it, and returns its URL. */
export async function createVhost(label?: string): Promise<TestVhost> {
  const vhost = uniqueVhostName(label);
  const user = splitCredentials(amqpUrl()).username ?? "guest";
  await expectOk(await api("PUT", `/api/vhosts/${enc(vhost)}`, { description: `pragma test ${label ?? ""}`.trim() }), `create vhost ${vhost}`);
  await expectOk(
    await api("PUT", `/api/permissions/${enc(vhost)}/${enc(user)}`, { configure: ".*", write: ".*", read: ".*" }),
    `grant ${user} on ${vhost}`,
  );
  let disposed = false;
  return {
    vhost,
    amqpUrl: vhostUrl(amqpUrl(), vhost),
    async dispose() {
      if (disposed) return;
      disposed = true;
      await expectOk(await api("DELETE", `/api/vhosts/${enc(vhost)}`), `delete vhost ${vhost}`, true);
    },
  };
}

/** Names of the client connections the management API lists for `vhost` (it learns of new ones within ~200 ms). */
export async function listConnections(vhost: string): Promise<string[]> {
  const res = await api("GET", `/api/vhosts/${enc(vhost)}/connections`);
  await expectOk(res, `list connections of ${vhost}`);
  const rows = (await res.json()) as { name: string }[];
  return rows.map((r) => r.name);
}

/**
 * Polls until the management API lists at least `count` connections in `vhost`. Call it
 * before a test's critical section so a later closeConnections() acts at once instead of
 * waiting for the API to catch up.
 */
export async function waitForConnections(vhost: string, count = 1, timeoutMs = 10_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const names = await listConnections(vhost);
    if (names.length >= count) return names;
    if (Date.now() >= deadline) throw new Error(`management API listed ${names.length} of ${count} expected connections in vhost ${vhost} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Force-closes every client connection in `vhost` (as an operator or a broker restart
 * would) and returns how many were closed. The management API learns about new
 * connections asynchronously, so this polls until it lists at least one (up to
 * `timeoutMs`); 0 means none appeared.
 */
export async function closeConnections(vhost: string, timeoutMs = 10_000): Promise<number> {
  const names = await waitForConnections(vhost, 1, timeoutMs).catch(() => [] as string[]);
  let closed = 0;
  for (const name of names) {
    const res = await api("DELETE", `/api/connections/${enc(name)}`, undefined, { "x-reason": "closed by a test (closeConnections)" });
    // Already gone (listed before it closed) is not a failure.
    await expectOk(res, `close connection ${name}`, true);
    if (res.ok) closed += 1;
  }
  return closed;
}

/** Exchanges of `vhost` with their types (the default exchange "" included). */
export async function listExchanges(vhost: string): Promise<{ name: string; type: string }[]> {
  const res = await api("GET", `/api/exchanges/${enc(vhost)}`);
  await expectOk(res, `list exchanges of ${vhost}`);
  return ((await res.json()) as { name: string; type: string }[]).map((e) => ({ name: e.name, type: e.type }));
}

/** Routing keys of the bindings whose source is `exchange` in `vhost`. */
export async function bindingKeys(vhost: string, exchange: string): Promise<string[]> {
  const res = await api("GET", `/api/exchanges/${enc(vhost)}/${enc(exchange)}/bindings/source`);
  await expectOk(res, `list bindings of ${exchange}`);
  return [...new Set(((await res.json()) as { routing_key: string }[]).map((b) => b.routing_key))];
}
