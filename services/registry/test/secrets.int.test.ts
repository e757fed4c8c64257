import { randomBytes } from "node:crypto";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { Client } from "pg";
import { RPC_QUEUES, registryRequests as r, type DatabaseEntryInput } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { createLogger } from "@pragma/logger";
import { waitFor } from "@pragma/testing";
import { readConfig } from "../src/config";
import { AesGcmCipher, PURPOSES } from "@pragma/crypto";
import { runReencrypt } from "../src/reencrypt";
import { captureEvents, orgBody, projectBody, startHarness, testKey, type CapturedEvent, type Harness } from "./support";

let h: Harness;
let events: { events: CapturedEvent[]; stop(): Promise<void> };
let orgId: string;

beforeAll(async () => {
  h = await startHarness("registry-secrets");
  events = await captureEvents(h.client, "test.registry-secrets.events");
  orgId = (await h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody())).org.org_id;
});
afterAll(async () => {
  await events?.stop();
  await h?.stop();
});

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => new Error("expected the request to fail"),
    (e: unknown) => e,
  );
  if (err instanceof AppError) return err;
  throw err;
}

const pgEntry = (password: string, over: Partial<DatabaseEntryInput> = {}): DatabaseEntryInput => ({ ...projectBody({}, password).database[0]!, ...over });
const mysqlEntry = (password: string, over: Partial<DatabaseEntryInput> = {}): DatabaseEntryInput =>
  pgEntry(password, { host: "127.0.0.1", port: "3306", username: "root", db_name: "test", db_type: "mysql", ...over });

describe("?verify=true", () => {
  it("accepts entries a driver can connect to (postgres and mariadb)", async () => {
    // Local servers trust these users, so any password connects.
    const res = await h.client.request(RPC_QUEUES.registry, r.createProject, {
      org_id: orgId,
      body: projectBody({ database: [pgEntry("x"), mysqlEntry("")] }),
      verify: true,
    });
    expect(res.created).toBe(true);
  });

  it("fails with 422 naming each failing entry and the driver's reason, never the password, and stores nothing", async () => {
    const marker = `verify-marker-${randomBytes(6).toString("hex")}`;
    const body = projectBody({
      database: [pgEntry(marker), pgEntry(marker, { db_name: "no_such_db_here" }), mysqlEntry(marker, { port: "1" }), mysqlEntry(marker, { username: "nobody_here" })],
    });
    const err = await rejection(h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body, verify: true }));
    expect(err.code).toBe("VALIDATION_FAILED");
    const issues = err.detail as { loc: unknown[]; msg: string; type: string }[];
    expect(issues.map((i) => i.loc)).toEqual([
      ["body", "database", 1],
      ["body", "database", 2],
      ["body", "database", 3],
    ]);
    expect(issues[0]!.msg).toContain('database "no_such_db_here" does not exist');
    expect(issues[1]!.msg).toContain("ECONNREFUSED");
    expect(issues[2]!.msg).toMatch(/Access denied for user 'nobody_here'/);
    expect(JSON.stringify(err.detail)).not.toContain(marker);
    const { projects } = await h.client.request(RPC_QUEUES.registry, r.listProjects, { org_id: orgId });
    expect(projects.map((p) => p.abbreviation)).not.toContain(body.abbreviation);
  });

  it("gives up on a server that accepts and never answers after connect_timeout_secs", async () => {
    const sockets: Socket[] = [];
    const stall = createServer((sock) => void sockets.push(sock));
    await new Promise<void>((resolve) => stall.listen(0, "127.0.0.1", resolve));
    const port = String((stall.address() as AddressInfo).port);
    try {
      const started = Date.now();
      const err = await rejection(
        h.client.request(RPC_QUEUES.registry, r.createProject, {
          org_id: orgId,
          body: projectBody({ database: [pgEntry("x", { port, connect_timeout_secs: 1 }), mysqlEntry("x", { port, connect_timeout_secs: 1 })] }),
          verify: true,
        }),
      );
      const elapsed = Date.now() - started;
      expect(err.code).toBe("VALIDATION_FAILED");
      expect((err.detail as unknown[]).length).toBe(2);
      expect(elapsed).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeLessThan(3000);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => stall.close(resolve));
    }
  });

  it("applies to PATCH too", async () => {
    const p = (await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body: projectBody(), verify: false })).project;
    const err = await rejection(
      h.client.request(RPC_QUEUES.registry, r.updateProject, { org_id: orgId, project_id: p.project_id, body: { database: [pgEntry("x", { port: "1" })] }, verify: true }),
    );
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(await h.client.request(RPC_QUEUES.registry, r.getProject, { org_id: orgId, project_id: p.project_id })).toEqual(p);
  });
});

it("a registered password never appears in a reply (but the workers' credentials), a log line, or an event", async () => {
  const marker = `MARKER-${randomBytes(8).toString("hex")}`;
  const marker2 = `MARKER2-${randomBytes(8).toString("hex")}`;
  const replies: unknown[] = [];
  const body = projectBody({ database: [pgEntry(marker), mysqlEntry(marker)] });
  // MariaDB's root has no password, so an entry carrying the marker can be stored but not verified.
  replies.push(await rejection(h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body, verify: true })));
  const created = await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body, verify: false });
  const pid = created.project.project_id;
  replies.push(created);
  replies.push(await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body, verify: false }));
  replies.push(await h.client.request(RPC_QUEUES.registry, r.getProject, { org_id: orgId, project_id: pid }));
  replies.push(await h.client.request(RPC_QUEUES.registry, r.listProjects, { org_id: orgId }));
  replies.push(await h.client.request(RPC_QUEUES.registry, r.updateProject, { org_id: orgId, project_id: pid, body: { database: [pgEntry(marker2)] }, verify: false }));
  replies.push(await rejection(h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body: projectBody({ database: [pgEntry(marker, { port: "1" })] }), verify: true })));
  replies.push(await rejection(h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body: projectBody({ database: [{ ...pgEntry(marker), port: "0" }] }), verify: false })));
  const creds = await h.client.request(RPC_QUEUES.registry, r.getCredentials, { org_id: orgId, project_id: pid });
  // The one reply that must carry it, so the test can see the marker at all.
  expect(creds.databases[0]!.password).toBe(marker2);

  await waitFor(async () => events.events.some((e) => e.type === "registry.project.updated.v1" && e.headers["x-project-id"] === pid));
  const haystacks = {
    replies: JSON.stringify(replies.map((x) => (x instanceof AppError ? x.toJSON() : x))),
    logs: h.logs.text(),
    events: JSON.stringify(events.events),
  };
  // The registry's own lines (debug level) are in the haystack, not just the test client's.
  expect(haystacks.logs).toContain('"service":"registry"');
  expect(haystacks.events).toContain(pid);
  for (const [where, text] of Object.entries(haystacks)) {
    expect({ where, leaks: text.includes(marker) || text.includes(marker2) }).toEqual({ where, leaks: false });
  }
});

it("re-encrypts every password under the newest key, and is a no-op when run again", async () => {
  const p = (await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body: projectBody({}, "rotate-me"), verify: false })).project;
  const k1 = h.config.encryption.keys.get("k1")!.toString("base64");
  const k2 = testKey();
  const rotated = readConfig(
    { NODE_ENV: "test", DATABASE_URL: h.env.databaseUrl, AMQP_URL: h.env.amqpUrl, PRAGMA_ENCRYPTION_KEYS: `k1:${k1},k2:${k2}` },
    { onError: "throw" },
  );
  expect(rotated.encryption.activeKeyId).toBe("k2");
  const logger = createLogger({ service: "reencrypt-test", level: "silent" });
  const first = await runReencrypt(rotated, logger);
  expect(first.reencrypted).toBe(first.total);
  expect(first.total).toBeGreaterThan(0);
  expect(await runReencrypt(rotated, logger)).toEqual({ total: first.total, reencrypted: 0, skipped: 0 });

  const pg = new Client({ connectionString: h.env.databaseUrl });
  await pg.connect();
  try {
    const { rows } = await pg.query<{ project_id: string; password_ciphertext: string }>("SELECT project_id, password_ciphertext FROM registry.project_databases");
    expect(rows.every((row) => row.password_ciphertext.startsWith("v1:k2:"))).toBe(true);
    // Readable with the new key alone: the old one can now be retired.
    const onlyK2 = new AesGcmCipher(new Map([["k2", Buffer.from(k2, "base64")]]), "k2", PURPOSES.registryPassword);
    expect(onlyK2.decrypt(rows.find((row) => row.project_id === p.project_id)!.password_ciphertext)).toBe("rotate-me");
  } finally {
    await pg.end();
  }
});
