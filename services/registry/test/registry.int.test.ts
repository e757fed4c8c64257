import { Client } from "pg";
import { RPC_QUEUES, registryRequests as r } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { isUlid } from "@pragma/ids";
import { orgBody, projectBody, startHarness, type Harness } from "./support";

let h: Harness;
beforeAll(async () => {
  h = await startHarness("registry");
});
afterAll(async () => {
  await h?.stop();
});


async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error("expected the request to fail");
}

describe("orgs", () => {
  it("creates an org once and reports the stored one on a repeat", async () => {
    const body = orgBody();
    const first = await h.client.request(RPC_QUEUES.registry, r.createOrg, body);
    expect(first.created).toBe(true);
    expect(first.org).toMatchObject({ org_id: body.org_id, abbreviation: body.abbreviation, rate_limit: null });

    const again = await h.client.request(RPC_QUEUES.registry, r.createOrg, { ...body, name: "Renamed" });
    expect(again).toEqual({ created: false, org: first.org });

    expect(await h.client.request(RPC_QUEUES.registry, r.getOrg, { org_id: body.org_id })).toEqual(first.org);
  });

  it("refuses an abbreviation another org holds with CONFLICT", async () => {
    const a = orgBody();
    await h.client.request(RPC_QUEUES.registry, r.createOrg, a);
    const err = await rejection(h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody({ abbreviation: a.abbreviation })));
    expect(err.code).toBe("CONFLICT");
  });

  it("rejects an org_id that is not a ULID", async () => {
    const err = await rejection(h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody({ org_id: "not-a-ulid" })));
    expect(err.code).toBe("VALIDATION_FAILED");
    expect(err.detail).toEqual([expect.objectContaining({ loc: ["org_id"] })]);
  });

  it("answers NOT_FOUND for an unknown org", async () => {
    const err = await rejection(h.client.request(RPC_QUEUES.registry, r.getOrg, { org_id: orgBody().org_id }));
    expect(err.code).toBe("NOT_FOUND");
  });
});

describe("projects", () => {
  let orgId: string;
  beforeAll(async () => {
    orgId = (await h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody())).org.org_id;
  });

  it("creates a project with its default space, and returns it again for the same abbreviation", async () => {
    const body = projectBody();
    const first = await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body, verify: false });
    expect(first.created).toBe(true);
    const p = first.project;
    expect(p.project_id).toMatch(/^prj_/);
    expect(p.space_id).toMatch(/^spc_/);
    expect(p.database).toHaveLength(1);
    expect(p.database[0]).not.toHaveProperty("password");
    expect(JSON.stringify(first)).not.toContain("s3cret-pw");

    const again = await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body: { ...body, name: "other" }, verify: false });
    expect(again).toEqual({ created: false, project: p });
    expect(await h.client.request(RPC_QUEUES.registry, r.getProject, { org_id: orgId, project_id: p.project_id })).toEqual(p);

    const scope = await h.client.request(RPC_QUEUES.registry, r.resolveScope, { org_id: orgId, project_id: p.project_id, space_id: null });
    expect(scope).toEqual({ org_id: orgId, project_id: p.project_id, space_id: p.space_id });
  });

  it("stores passwords only as AES-GCM ciphertext naming the key, and hands them back decrypted to workers", async () => {
    const res = await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body: projectBody({}, "pw-at-rest-1"), verify: false });
    const pg = new Client({ connectionString: h.env.databaseUrl });
    await pg.connect();
    try {
      const { rows } = await pg.query<{ password_ciphertext: string }>(
        'SELECT password_ciphertext FROM registry.project_databases WHERE project_id = $1',
        [res.project.project_id],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]!.password_ciphertext).toMatch(/^v1:k1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
      expect(rows[0]!.password_ciphertext).not.toContain("pw-at-rest-1");
    } finally {
      await pg.end();
    }
    const creds = await h.client.request(RPC_QUEUES.registry, r.getCredentials, { org_id: orgId, project_id: res.project.project_id });
    expect(creds.databases).toEqual([expect.objectContaining({ host: "127.0.0.1", password: "pw-at-rest-1", db_type: "postgres" })]);
  });

  it("answers NOT_FOUND for an unknown org, and for a project or space outside the org", async () => {
    expect((await rejection(h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgBody().org_id, body: projectBody(), verify: false }))).code).toBe("NOT_FOUND");

    const other = (await h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody())).org.org_id;
    const mine = (await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body: projectBody(), verify: false })).project;
    const theirs = (await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: other, body: projectBody(), verify: false })).project;

    const e1 = await rejection(h.client.request(RPC_QUEUES.registry, r.getProject, { org_id: other, project_id: mine.project_id }));
    expect(e1.code).toBe("NOT_FOUND");
    const e2 = await rejection(h.client.request(RPC_QUEUES.registry, r.resolveScope, { org_id: other, project_id: mine.project_id, space_id: null }));
    expect([e2.code, e2.detail]).toEqual(["NOT_FOUND", "Project not found"]);
    const e3 = await rejection(h.client.request(RPC_QUEUES.registry, r.resolveScope, { org_id: orgId, project_id: mine.project_id, space_id: theirs.space_id }));
    expect([e3.code, e3.detail]).toEqual(["NOT_FOUND", "Space not found"]);
    const e4 = await rejection(h.client.request(RPC_QUEUES.registry, r.getCredentials, { org_id: other, project_id: mine.project_id }));
    expect(e4.code).toBe("NOT_FOUND");
    const ok = await h.client.request(RPC_QUEUES.registry, r.resolveScope, { org_id: orgId, project_id: mine.project_id, space_id: mine.space_id });
    expect(ok.space_id).toBe(mine.space_id);
  });
});

describe("api keys", () => {
  it("issues a pk_ secret once, verifies it to its principal, and stores only its hash", async () => {
    const org = (await h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody({ name: "Keyed" }))).org;
    const project = (await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: org.org_id, body: projectBody(), verify: false })).project;
    const { api_key, key } = await h.client.request(RPC_QUEUES.registry, r.createApiKey, {
      org_id: org.org_id,
      body: { name: "ci", role: "member", project_id: project.project_id },
    });
    expect(api_key).toMatch(/^pk_[A-Za-z0-9_-]{43}$/);
    expect(key).toMatchObject({ org_id: org.org_id, role: "member", project_id: project.project_id, revoked_at: null });
    expect(JSON.stringify(key)).not.toContain(api_key);

    const principal = await h.client.request(RPC_QUEUES.registry, r.verifyApiKey, { api_key });
    expect(principal).toEqual({ key_id: key.key_id, org_id: org.org_id, org_name: "Keyed", role: "member", project_id: project.project_id, space_id: null, name: "ci" });

    const pg = new Client({ connectionString: h.env.databaseUrl });
    await pg.connect();
    try {
      const { rows } = await pg.query("SELECT * FROM registry.api_keys WHERE id = $1", [key.key_id]);
      expect(JSON.stringify(rows)).not.toContain(api_key.slice(10));
    } finally {
      await pg.end();
    }
  });

  it("answers UNAUTHENTICATED for an unknown key", async () => {
    const err = await rejection(h.client.request(RPC_QUEUES.registry, r.verifyApiKey, { api_key: "pk_nope" }));
    expect([err.code, err.detail]).toEqual(["UNAUTHENTICATED", "Not authenticated"]);
  });

  it("refuses a project or space of another org", async () => {
    const a = (await h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody())).org.org_id;
    const b = (await h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody())).org.org_id;
    const pb = (await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: b, body: projectBody(), verify: false })).project;
    const e1 = await rejection(h.client.request(RPC_QUEUES.registry, r.createApiKey, { org_id: a, body: { name: "x", role: "admin", project_id: pb.project_id } }));
    expect(e1.code).toBe("NOT_FOUND");
    const e2 = await rejection(h.client.request(RPC_QUEUES.registry, r.createApiKey, { org_id: a, body: { name: "x", role: "admin", space_id: pb.space_id } }));
    expect(e2.code).toBe("NOT_FOUND");
  });
});

test("org ids from seed 000 are bare ULIDs", () => {
  expect(isUlid(orgBody().org_id)).toBe(true);
});
