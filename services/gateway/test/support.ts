import { randomBytes } from "node:crypto";
import type { CreateOrgBody, CreateProjectBody, Role } from "@pragma/contracts";
import { newUlid } from "@pragma/ids";
import { createLogger } from "@pragma/logger";
import { captureLogs, createTestEnv, type CapturedLogs, type TestEnv } from "@pragma/testing";
import { readRegistryConfig, startRegistry, startResourceStore, storeConfigSchema, type RegistryHandle, type RunningStore } from "../../../test/support/services";
import { generateJwtKey, jwtKeysJson, readConfig, type GatewayConfig, type JwtKey } from "../src/config";
import { startGateway, type GatewayHandle } from "../src/service";

export const SERVER_KEY = `psk_${randomBytes(24).toString("base64url")}`;

/** Two keys from the start: the second signs, the first still verifies (a rotation in progress). */
export const JWT_KEYS: JwtKey[] = [generateJwtKey("k-old"), generateJwtKey("k-new")];

export interface Harness {
  env: TestEnv;
  logs: CapturedLogs;
  registry: RegistryHandle;
  store: RunningStore | undefined;
  gateways: { handle: GatewayHandle; config: GatewayConfig; url: string }[];
  url: string;
  /** Another gateway replica on the same Redis and broker. */
  addGateway(extraEnv?: Record<string, string>): Promise<string>;
  stop(): Promise<void>;
}

export function gatewayEnv(env: TestEnv, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: "test",
    LOG_LEVEL: "debug",
    AMQP_URL: env.amqpUrl,
    REDIS_URL: env.redisUrl,
    REDIS_KEY_PREFIX: env.redisPrefix,
    GATEWAY_PORT: "0",
    PRAGMA_SERVER_KEY: SERVER_KEY,
    JWT_KEYS: jwtKeysJson(JWT_KEYS),
    JWT_ACTIVE_KID: "k-new",
    JWT_ISSUER: "pragma-test",
    JWT_AUDIENCE: "pragma-test-api",
    RPC_TIMEOUT_MS: "5000",
    ...extra,
  };
}

/**
 * The real registry (and resource store, when asked) in-process on a fresh database,
 * vhost and Redis prefix, with the gateway in front on port 0: tests act over HTTP only.
 */
export async function startHarness(label: string, opts: { store?: boolean; gatewayEnv?: Record<string, string> } = {}): Promise<Harness> {
  const env = await createTestEnv(label);
  const logs = captureLogs();
  const logger = (service: string) => createLogger({ service, level: "debug", destination: logs.destination });
  const registry = await startRegistry(
    readRegistryConfig(
      { NODE_ENV: "test", LOG_LEVEL: "debug", DATABASE_URL: env.databaseUrl, AMQP_URL: env.amqpUrl, PRAGMA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString("base64")}` },
      { onError: "throw" },
    ),
    { logger: logger("registry") },
  );
  // Loaded only by files that need it, so the other files do not depend on the store's build state.
  let store: RunningStore | undefined;
  if (opts.store) {
    store = await startResourceStore(storeConfigSchema.parse({ NODE_ENV: "test", LOG_LEVEL: "debug", DATABASE_URL: env.databaseUrl, AMQP_URL: env.amqpUrl }), {
      logger: logger("resource-store"),
    });
  }
  const gateways: Harness["gateways"] = [];
  const addGateway = async (extra: Record<string, string> = {}) => {
    const config = readConfig(gatewayEnv(env, { ...opts.gatewayEnv, ...extra }), { onError: "throw" });
    const handle = await startGateway(config, { logger: logger("gateway") });
    const url = `http://127.0.0.1:${handle.port}`;
    gateways.push({ handle, config, url });
    return url;
  };
  const url = await addGateway();
  return {
    env,
    logs,
    registry,
    store,
    gateways,
    url,
    addGateway,
    async stop() {
      await Promise.allSettled(gateways.map((g) => g.handle.stop()));
      await store?.stop().catch(() => undefined);
      await registry.stop().catch(() => undefined);
      await env.dispose();
    },
  };
}

export interface HttpResult<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export async function http<T = any>(
  base: string,
  method: string,
  path: string,
  opts: { body?: unknown; rawBody?: string; headers?: Record<string, string>; token?: string; serverKey?: string } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.body !== undefined || opts.rawBody !== undefined) headers["content-type"] ??= "application/json";
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.serverKey) headers["x-server-key"] = opts.serverKey;
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: opts.rawBody ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, headers: res.headers, body: body as T, text };
}

export function orgBody(overrides: Partial<CreateOrgBody> = {}): CreateOrgBody {
  const id = newUlid();
  return {
    org_id: id,
    name: `Acme ${id.slice(-6)}`,
    abbreviation: `acme-${id.slice(-8).toLowerCase()}`,
    admin_email: "admin@acme.test",
    admin_name: "Ada Admin",
    address: "1 Main St",
    state: "CA",
    country: "US",
    pin_code: "94000",
    ...overrides,
  };
}

export function projectBody(overrides: Partial<CreateProjectBody> = {}): CreateProjectBody {
  return {
    name: "Shop",
    abbreviation: `shop-${newUlid().slice(-8).toLowerCase()}`,
    description: "the shop",
    database: [
      {
        host: "127.0.0.1",
        port: "5432",
        username: "postgres",
        password: "s3cret-pw",
        db_name: "test",
        db_type: "postgres",
        connect_timeout_secs: 5,
        idle_timeout_secs: 60,
        max_open_connections: 10,
        max_idle_connections: 2,
      },
    ],
    ...overrides,
  };
}

export interface Tenant {
  orgId: string;
  orgName: string;
  projectId: string;
  spaceId: string;
  /** token for a key of each role; `bound` is a member key bound to the project. */
  tokens: Record<Role | "bound", string>;
  keys: Record<Role | "bound", { key_id: string; api_key: string }>;
}

export async function token(base: string, apiKey: string): Promise<string> {
  const r = await http(base, "POST", "/auth/token", { body: { api_key: apiKey } });
  if (r.status !== 200) throw new Error(`token exchange failed: ${r.status} ${r.text}`);
  return r.body.access_token as string;
}

/** An org with a project and one key (and token) per role, made through the System API. */
export async function makeTenant(base: string): Promise<Tenant> {
  const org = orgBody();
  const o = await http(base, "POST", "/orgs", { body: org, serverKey: SERVER_KEY });
  if (o.status !== 201) throw new Error(`create org: ${o.status} ${o.text}`);
  const p = await http(base, "POST", `/orgs/${org.org_id}/projects`, { body: projectBody(), serverKey: SERVER_KEY });
  if (p.status !== 201) throw new Error(`create project: ${p.status} ${p.text}`);
  const keys = {} as Tenant["keys"];
  const tokens = {} as Tenant["tokens"];
  for (const role of ["admin", "member", "operator", "bound"] as const) {
    const body = role === "bound" ? { name: role, role: "member", project_id: p.body.project_id, space_id: p.body.space_id } : { name: role, role };
    const k = await http(base, "POST", `/orgs/${org.org_id}/api-keys`, { body, serverKey: SERVER_KEY });
    if (k.status !== 201) throw new Error(`create key: ${k.status} ${k.text}`);
    keys[role] = { key_id: k.body.key_id, api_key: k.body.api_key };
    tokens[role] = await token(base, k.body.api_key);
  }
  return { orgId: org.org_id, orgName: org.name, projectId: p.body.project_id, spaceId: p.body.space_id, tokens, keys };
}
