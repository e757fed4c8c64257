import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { newUlid } from "@pragma/ids";
import { captureLogs, waitFor } from "@pragma/testing";
import { tapEveryExchange, type WireTap } from "./bus-tap";
import { call, SERVER_KEY, startSystem, type RunningSystem } from "./system";
import { Client, createOrg, enc, rid, type Org, type Ref } from "./tenant";

/**
 * Sensitive values (spec §4.3, issue 20 cases 1-3): sensitive config is redacted like
 * outputs; sensitivity travels along references and out of error messages; at rest the
 * database holds none in clear. The last test runs a whole story and then looks for
 * the secrets everywhere: API answers, log lines, a pg_dump, and every message
 * published to any exchange while it ran.
 */
const run = promisify(execFile);
const logs = captureLogs();
let sys: RunningSystem;
let org: Org;
let member: Client;
let operator: Client;
let admin: Client;
let tap: WireTap;
/** Every API answer the tests read without reveal. */
const answers: string[] = [];
const suffix = newUlid().slice(-8).toLowerCase();

async function clientWithRole(role: string): Promise<Client> {
  const key = await call(sys.baseUrl, "POST", `/orgs/${org.orgId}/api-keys`, { headers: { "x-server-key": SERVER_KEY }, body: { name: role, role } });
  const tok = await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: key.body.api_key } });
  return new Client(sys.baseUrl, tok.body.access_token, org.projectId, org.spaceId);
}

async function req(c: Client, method: string, path: string, body?: unknown) {
  const r = await c.req(method, path, body);
  answers.push(r.text);
  return r;
}
const apply = (c: Client, body: Record<string, unknown>) => req(c, "POST", "/resources/apply", body);
const get = (c: Client, ref: Ref) => req(c, "GET", `/resources/${enc(rid(ref))}`);
const reveal = async (ref: Ref) => (await admin.req("GET", `/resources/${enc(rid(ref))}?reveal=true`)).body;

async function waitState(ref: Ref, state: string) {
  return waitFor(
    async () => {
      const r = await get(member, ref);
      return r.status === 200 && r.body.lifecycle_state === state ? r : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: `${rid(ref)} never reached ${state}` },
  );
}

async function deadLetterFor(eventId: string) {
  return waitFor(
    async () => {
      const r = await req(operator, "GET", `/ops/dead-letter/${eventId}`);
      return r.status === 200 ? r.body : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: `no dead-letter entry for ${eventId}` },
  );
}

/** The test database, as `pg_dump` writes it. */
async function dump(): Promise<string> {
  const { stdout } = await run("pg_dump", ["--no-owner", sys.env.databaseUrl], { maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

beforeAll(async () => {
  sys = await startSystem("sensitive-values", { RETRY_TIERS_MS: "200", MAX_RETRIES: "1", LOG_LEVEL: "debug" }, { logs: logs.destination });
  tap = await tapEveryExchange(sys.env.amqpUrl, sys.env.vhost);
  org = await createOrg(sys.baseUrl);
  member = org.client();
  operator = await clientWithRole("operator");
  admin = await clientWithRole("admin");
});

afterAll(async () => {
  await tap?.close();
  // Roles this file created on the shared server.
  for (const ref of created) await member?.del(rid(ref)).catch(() => undefined);
  await sys?.stop();
});
const created: Ref[] = [];

const secretRef = { provider: "pragma", resource: "secret", name: "api" };
const SECRET = `TopSecret-${suffix}`;
const CONFIG_PASSWORD = `cfg-pw-${suffix}`;
const roleRef = { provider: "postgres", resource: "role", name: "r" };
const roleName = `sec_${suffix}`;
const urlRef = { provider: "pragma", resource: "config", name: "url" };
const dbRef = { provider: "postgres", resource: "database", name: "owned" };
let rolePassword = "";

describe("case 1: sensitive config is redacted like outputs", () => {
  it("apply, GET and list answer [REDACTED] for a secret's value and for secret-named config keys; an admin reveals them, a member may not", async () => {
    const applied = await apply(member, { ...secretRef, config: { value: SECRET }, lifecycle_state: "pending" });
    expect(applied.status).toBe(200);
    expect(applied.body.config).toEqual({ value: "[REDACTED]" });
    // A draft (no validation, no event) is redacted by key name too.
    const draft = { provider: "pragma", resource: "config", name: "draft" };
    const d = await apply(member, { ...draft, config: { db_password: CONFIG_PASSWORD, nested: { api_token: CONFIG_PASSWORD }, note: "kept" } });
    expect(d.status).toBe(200);
    expect(d.body.config).toEqual({ db_password: "[REDACTED]", nested: { api_token: "[REDACTED]" }, note: "kept" });

    await waitState(secretRef, "ready");
    const got = await get(member, secretRef);
    expect(got.body.config).toEqual({ value: "[REDACTED]" });
    expect(got.body.outputs).toEqual({ value: "[REDACTED]" });
    const listed = await req(member, "GET", "/resources/?provider=pragma");
    expect(listed.status).toBe(200);
    expect(listed.body.find((r: any) => r.name === "api").config).toEqual({ value: "[REDACTED]" });
    expect(listed.body.find((r: any) => r.name === "draft").config.db_password).toBe("[REDACTED]");
    expect(JSON.stringify([applied.body, d.body, got.body, listed.body])).not.toMatch(new RegExp(`${SECRET}|${CONFIG_PASSWORD}`));

    const forbidden = await member.req("GET", `/resources/${enc(rid(secretRef))}?reveal=true`);
    expect(forbidden.status).toBe(403);
    expect(await reveal(secretRef)).toMatchObject({ config: { value: SECRET }, outputs: { value: SECRET } });
    expect((await reveal(draft)).config).toEqual({ db_password: CONFIG_PASSWORD, nested: { api_token: CONFIG_PASSWORD }, note: "kept" });

    // Reapplying the same config is no change, so a ready resource stays ready (a sealed
    // value compares by what it holds, not by its ciphertext); a new value is a change.
    expect((await apply(member, { ...secretRef, config: { value: SECRET } })).body.lifecycle_state).toBe("ready");
    expect((await apply(member, { ...secretRef, config: { value: `${SECRET}-2` } })).body.lifecycle_state).toBe("draft");
    expect((await apply(member, { ...secretRef, config: { value: SECRET }, lifecycle_state: "pending" })).status).toBe(200);
    await waitState(secretRef, "ready");
  });
});

describe("case 2: sensitivity travels along references and out of error messages", () => {
  it("an interpolated string with a role's password is sensitive as a whole in the dependent's outputs", async () => {
    created.push(roleRef);
    expect((await apply(member, { ...roleRef, config: { name: roleName }, lifecycle_state: "pending" })).status).toBe(200);
    await waitState(roleRef, "ready");
    rolePassword = (await reveal(roleRef)).outputs.password;
    expect(rolePassword).toMatch(/^[A-Za-z0-9]{16,}$/);

    const url = `db://u:\${postgres/role/r.outputs.password}@h`;
    expect((await apply(member, { ...urlRef, config: { url, note: "n" }, lifecycle_state: "pending" })).status).toBe(200);
    const ready = await waitState(urlRef, "ready");
    expect(ready.body.outputs).toEqual({ url: "[REDACTED]", note: "n" });
    expect(ready.body.config).toEqual({ url, note: "n" });
    expect((await reveal(urlRef)).outputs).toEqual({ url: `db://u:${rolePassword}@h`, note: "n" });
  });

  it("a database whose owner is built from the password fails, and no error, dead letter or worker log line shows the password", async () => {
    // "u" + the password is a valid role name that does not exist: PostgreSQL's error quotes it.
    const applied = await apply(member, { ...dbRef, config: { name: `sec_db_${suffix}`, owner: `u\${postgres/role/r.outputs.password}` }, lifecycle_state: "pending" });
    expect(applied.status).toBe(200);
    const failed = await waitState(dbRef, "failed");
    expect(failed.body.error).toMatch(/\[REDACTED\]/);
    const status = await req(member, "GET", `/resources/${enc(rid(dbRef))}/status`);
    const entry = await deadLetterFor(applied.body.pending_event_id);
    expect(entry.payload.config.owner).toBe("[REDACTED]");
    expect(entry.error_message).toMatch(/\[REDACTED\]/);
    expect(entry.attempts.length).toBeGreaterThan(0);
    const logsOf = await req(member, "GET", `/resources/${enc(rid(dbRef))}/logs`);
    expect(logsOf.status).toBe(200);
    // The worker's own log line about this failure was written, and holds no password.
    const workerLines = logs.lines().filter((l) => l.includes('"service":"provider-worker"') && l.includes(rid(dbRef)));
    expect(workerLines.some((l) => l.includes("dead-lettering"))).toBe(true);
    for (const text of [failed.text, status.text, JSON.stringify(entry), logsOf.text, ...workerLines]) expect(text).not.toContain(rolePassword);
  });
});

describe("case 3: at rest", () => {
  it("a pg_dump of the database holds none of the secret values, only sealed ones", async () => {
    const text = await dump();
    expect(text).toContain("pragma:sealed:v1:t1:");
    expect(text).toContain(roleName);
    for (const secret of [SECRET, CONFIG_PASSWORD, rolePassword]) expect(text).not.toContain(secret);
  });
});

describe("end to end: no secret anywhere", () => {
  it("creates, references, fails and retries secrets; no answer, log line, dump or published message holds one", async () => {
    const secret2 = { provider: "pragma", resource: "secret", name: "second" };
    const SECRET2 = `Second-${suffix}-value`;
    const user = { provider: "pragma", resource: "config", name: "user" };
    const random = { provider: "pragma", resource: "random", name: "rnd" };
    const broken = { provider: "postgres", resource: "database", name: "broken" };
    expect((await apply(member, { ...secret2, config: { value: SECRET2 }, lifecycle_state: "pending" })).status).toBe(200);
    expect((await apply(member, { ...random, config: { length: 24, kind: "alphanumeric" }, lifecycle_state: "pending" })).status).toBe(200);
    await waitState(secret2, "ready");
    await waitState(random, "ready");
    const userConfig = { token: "${pragma/secret/second.outputs.value}", dsn: "x://a:${pragma/random/rnd.outputs.value}@h/${pragma/secret/api.outputs.value}" };
    expect((await apply(member, { ...user, config: userConfig, lifecycle_state: "pending" })).status).toBe(200);
    await waitState(user, "ready");
    // Fails on the provider (owner from the role's password), is dead-lettered, retried by an operator, fails again.
    const b = await apply(member, { ...broken, config: { name: `sec_b_${suffix}`, owner: `u\${postgres/role/r.outputs.password}` }, lifecycle_state: "pending" });
    const first = await deadLetterFor(b.body.pending_event_id);
    const retried = await req(operator, "POST", `/ops/dead-letter/${first.event_id}/retry`);
    expect(retried.status).toBe(200);
    await deadLetterFor(retried.body.event_id);
    await waitState(broken, "failed");
    for (const ref of [secret2, user, random, broken, dbRef, urlRef, roleRef]) await get(member, ref);
    await req(member, "GET", "/resources/");
    await req(operator, "GET", "/ops/dead-letter");

    const randomValue = (await reveal(random)).outputs.value as string;
    const opened = await reveal(user);
    expect(opened.outputs).toEqual({ token: SECRET2, dsn: `x://a:${randomValue}@h/${SECRET}` });
    const secrets = [SECRET, SECRET2, CONFIG_PASSWORD, rolePassword, randomValue];
    expect(secrets.every((s) => s.length >= 8)).toBe(true);

    // Let the last messages and lines arrive, then look everywhere.
    await new Promise((r) => setTimeout(r, 500));
    const published = tap.messages();
    expect(published.length).toBeGreaterThan(20);
    expect(published.some((m) => m.startsWith("pragma.work pragma "))).toBe(true);
    expect(published.some((m) => m.startsWith("pragma.dlx "))).toBe(true);
    const places: [string, string][] = [
      ["API answers", answers.join("\n")],
      ["log lines", logs.text()],
      ["pg_dump", await dump()],
      ["published messages", published.join("\n")],
    ];
    expect(logs.lines().length).toBeGreaterThan(50);
    for (const [where, text] of places) {
      for (const s of secrets) {
        if (text.includes(s)) throw new Error(`${where} hold the secret value ${s.slice(0, 3)}…: ${text.slice(Math.max(0, text.indexOf(s) - 200), text.indexOf(s) + 50)}`);
      }
    }
  });
});
