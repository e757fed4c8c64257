/**
 * The Auto API (api.md §7) through the gateway, on a real database of each engine: one
 * suite, run by auto-api-postgres.int.test.ts and auto-api-mysql.int.test.ts.
 */
import { newUlid } from "@pragma/ids";
import { waitFor } from "@pragma/testing";
import { call, SERVER_KEY, startSystem, type RunningSystem } from "./system";

export interface Engine {
  name: "postgres" | "mysql";
  /** Connection details of the server, as a project registers them. */
  server: { host: string; port: string; username: string; password: string };
  /** Creates the database (named) with the suite's tables; returns a way to run SQL in it and to drop it. */
  create(dbName: string): Promise<EngineDb>;
}

export interface EngineDb {
  exec(sql: string): Promise<unknown[]>;
  drop(): Promise<void>;
}

const sk = { "x-server-key": SERVER_KEY };

export interface Tenant {
  orgId: string;
  projectId: string;
  spaceId: string;
  member: string;
  operator: string;
}

export async function tenant(sys: RunningSystem, database: Record<string, unknown>[]): Promise<Tenant> {
  const orgId = newUlid();
  const abbr = `a${orgId.slice(-10).toLowerCase()}`;
  const org = await call(sys.baseUrl, "POST", "/orgs", {
    headers: sk,
    body: { org_id: orgId, name: abbr, abbreviation: abbr, admin_email: "a@x.test", admin_name: "A", address: "1 St", state: "CA", country: "US", pin_code: "94000" },
  });
  if (org.status !== 201) throw new Error(`org: ${org.status} ${org.text}`);
  const p = await call(sys.baseUrl, "POST", `/orgs/${orgId}/projects`, { headers: sk, body: { name: "p", abbreviation: "p", database } });
  if (p.status !== 201) throw new Error(`project: ${p.status} ${p.text}`);
  const projectId = p.headers.get("x-project-id")!;
  const spaceId = p.headers.get("x-space-id")!;
  const token = async (role: string) => {
    const key = await call(sys.baseUrl, "POST", `/orgs/${orgId}/api-keys`, { headers: sk, body: { name: role, role } });
    const tok = await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: key.body.api_key } });
    return tok.body.access_token as string;
  };
  return { orgId, projectId, spaceId, member: await token("member"), operator: await token("operator") };
}

export function autoApiSuite(engine: Engine): void {
  let sys: RunningSystem;
  let db: EngineDb;
  let t: Tenant;
  const dbName = `autoapi_${engine.name}_${newUlid().slice(-8).toLowerCase()}`;
  const entry = (over: Record<string, unknown> = {}) => ({
    ...engine.server,
    db_name: dbName,
    db_type: engine.name,
    connect_timeout_secs: 5,
    idle_timeout_secs: 30,
    max_open_connections: 2,
    max_idle_connections: 1,
    ...over,
  });

  beforeAll(async () => {
    db = await engine.create(dbName);
    sys = await startSystem(`auto-api-${engine.name}`, { SQL_STATEMENT_TIMEOUT_MS: "1500", AUTO_API_SCHEMA_REVALIDATE_MS: "500" });
    t = await tenant(sys, [entry()]);
  });
  afterAll(async () => {
    await sys?.stop();
    await db?.drop();
  });

  const base = () => `/auto/v1/${engine.name}/${dbName}`;
  const as = (token: string, method: string, path: string, body?: unknown, project = t.projectId) =>
    call(sys.baseUrl, method, path, { headers: { authorization: `Bearer ${token}`, "x-project-id": project }, ...(body !== undefined ? { body } : {}) });
  const get = (q: string) => as(t.member, "GET", `${base()}/items${q ? `?${q}` : ""}`);
  const ids = async (q: string) => {
    const r = await get(`${q}&select=id&order=id`);
    if (r.status !== 200) throw new Error(`${q}: ${r.status} ${r.text}`);
    return (r.body as { id: number }[]).map((x) => x.id);
  };
  const count = async (table = "items") => {
    const r = await as(t.member, "GET", `${base()}/${table}?count=exact&limit=0`);
    return Number(r.headers.get("x-total-count"));
  };

  const seed = [
    { id: 1, name: "apple", qty: 5, price: "1.50", big: "9007199254740993", active: true, meta: { color: "red", tags: [1, 2] }, created: "2024-01-02T03:04:05.678Z", data: Buffer.from([0, 1, 2, 255]).toString("base64"), note: null },
    { id: 2, name: "banana", qty: 10, price: "0.25", big: "-5", active: false, meta: { color: "yellow" }, created: "2024-02-01T00:00:00.000Z", data: null, note: "ripe 100%" },
    { id: 3, name: "cherry", qty: 0, price: "12.00", big: "0", active: true, meta: null, created: "2024-03-01T12:00:00.000Z", data: null, note: "snake_case" },
    { id: 4, name: "date", qty: 20, price: "3.33", big: "123", active: false, meta: [1, "two"], created: "2025-01-01T00:00:00.000Z", data: null, note: "o'clock" },
  ];

  it("lists the project's databases and introspects tables, views, columns and primary keys (no system schemas)", async () => {
    const list = await as(t.member, "GET", "/auto/v1/");
    expect(list.status).toBe(200);
    expect(list.body).toEqual([{ db_type: engine.name, db_name: dbName }]);
    expect(list.text).not.toContain(engine.server.host);

    const s = await as(t.member, "GET", base());
    expect(s.status).toBe(200);
    const names = (s.body.tables as { name: string }[]).map((x) => x.name).sort();
    expect(names).toEqual(["active_items", "children", "items", "parents", "sleepy", "slow"]);
    const items = s.body.tables.find((x: { name: string }) => x.name === "items");
    const id = items.columns.find((c: { name: string }) => c.name === "id");
    expect(id).toMatchObject({ primary_key: true, nullable: false });
    expect(items.columns.find((c: { name: string }) => c.name === "note")).toMatchObject({ nullable: true, primary_key: false });
    expect(items.columns.find((c: { name: string }) => c.name === "qty").default).toMatch(/7/);
    expect(s.body.tables.find((x: { name: string }) => x.name === "active_items").view).toBe(true);

    const doc = await as(t.member, "GET", `${base()}/openapi.json`);
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    expect(doc.body.paths[`${base()}/items`]).toHaveProperty("post");
    expect(doc.body.paths[`${base()}/active_items`]).not.toHaveProperty("post");
    expect(doc.body.components.schemas.items.properties.big.type).toBe("string");
    expect(doc.body.components.schemas.items.properties.note.type).toEqual(["string", "null"]);
  });

  it("inserts a batch atomically and reads every type back exactly (bigint as string, JSON, ISO timestamps, base64)", async () => {
    const r = await as(t.operator, "POST", `${base()}/items`, seed);
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ rows_affected: 4 });
    const all = await get("order=id");
    expect(all.status).toBe(200);
    expect(all.body).toHaveLength(4);
    const apple = all.body[0];
    expect(apple).toEqual({ ...seed[0], price: "1.50" });
    expect(typeof apple.qty).toBe("number");
    expect(all.body[1].meta).toEqual({ color: "yellow" });
    expect(all.body[3].meta).toEqual([1, "two"]);
    const one = await as(t.member, "GET", `${base()}/items/1`);
    expect(one.status).toBe(200);
    expect(one.body.big).toBe("9007199254740993");
    expect((await as(t.member, "GET", `${base()}/items/999`)).status).toBe(404);
    // An object alone is one row; a column left out takes its default.
    const single = await as(t.operator, "POST", `${base()}/items?return=rows`, { id: 5, name: "elder", price: "1", big: "1", active: true, created: "2024-05-05T05:05:05Z" });
    if (engine.name === "mysql" && single.status === 400) {
      expect(single.body.detail).toMatch(/RETURNING/);
      expect((await as(t.operator, "POST", `${base()}/items`, { id: 5, name: "elder", price: "1", big: "1", active: true, created: "2024-05-05T05:05:05Z" })).status).toBe(201);
    } else {
      expect(single.status).toBe(201);
      expect(single.body).toEqual([expect.objectContaining({ id: 5, name: "elder", qty: 7, created: "2024-05-05T05:05:05.000Z" })]);
    }
  });

  it("filters with every operator, ANDed", async () => {
    expect(await ids("name=eq.banana")).toEqual([2]);
    expect(await ids("name=ne.banana")).toEqual([1, 3, 4, 5]);
    expect(await ids("qty=lt.5")).toEqual([3]);
    expect(await ids("qty=gt.7")).toEqual([2, 4]);
    expect(await ids("qty=le.5")).toEqual([1, 3]);
    expect(await ids("qty=ge.10")).toEqual([2, 4]);
    expect(await ids("qty=bw.5.10")).toEqual([1, 2, 5]);
    expect(await ids("price=bw.1.00,3.33")).toEqual([1, 4, 5]);
    expect(await ids("name=in.apple,date,nothing")).toEqual([1, 4]);
    expect(await ids("name=nin.apple,date")).toEqual([2, 3, 5]);
    expect(await ids("note=li.100%")).toEqual([2]);
    expect(await ids("note=li._")).toEqual([3]);
    expect(await ids(`note=li.${encodeURIComponent("o'c")}`)).toEqual([4]);
    expect(await ids("note=li.!")).toEqual([]);
    expect(await ids("name=rli.b")).toEqual([2]);
    expect(await ids("name=rli.an")).toEqual([]);
    expect(await ids("note=is.null")).toEqual([1, 5]);
    expect(await ids("note=is.notnull")).toEqual([2, 3, 4]);
    expect(await ids("active=eq.true&qty=gt.1")).toEqual([1, 5]);
    expect(await ids("big=eq.9007199254740993")).toEqual([1]);
    expect(await ids("created=ge.2024-03-01T12:00:00Z")).toEqual([3, 4, 5]);
    expect(await ids("qty=gt.1&qty=lt.10")).toEqual([1, 5]);
  });

  it("selects, orders, pages and counts", async () => {
    const r = await get("select=name,qty&order=qty.desc,name.asc&limit=2&offset=1&count=exact");
    expect(r.status).toBe(200);
    expect(r.body).toEqual([{ name: "banana", qty: 10 }, { name: "elder", qty: 7 }]);
    expect(r.headers.get("x-total-count")).toBe("5");
    expect((await get("limit=1001")).status).toBe(422);
    expect((await get("limit=-1")).status).toBe(422);
    expect((await get("count=maybe")).status).toBe(422);
  });

  it("answers unknown names and bad values with 404/422 naming them", async () => {
    const unknownCol = await get("nope=eq.1");
    expect(unknownCol.status).toBe(422);
    expect(JSON.stringify(unknownCol.body.detail)).toContain("nope");
    const table = await as(t.member, "GET", `${base()}/nope`);
    expect(table.status).toBe(404);
    expect(table.body.detail).toContain("nope");
    expect((await as(t.member, "GET", `/auto/v1/${engine.name}/not_registered/items`)).status).toBe(404);
    expect((await as(t.member, "GET", `/auto/v1/oracle/${dbName}/items`)).status).toBe(404);
    const badInt = await get("qty=eq.abc");
    expect(badInt.status).toBe(422);
    expect(JSON.stringify(badInt.body.detail)).toContain("qty");
    expect((await get("qty=zz.1")).status).toBe(422);
    expect((await get("meta=li.x")).status).toBe(422);
    const badBody = await as(t.operator, "POST", `${base()}/items`, [{ id: 50, name: "x", qty: "many", price: "1", big: "1", active: true, created: "2024-01-01T00:00:00Z" }]);
    expect(badBody.status).toBe(422);
    expect(JSON.stringify(badBody.body.detail)).toContain("qty");
    const missing = await as(t.operator, "POST", `${base()}/items`, [{ id: 51, qty: 1 }]);
    expect(missing.status).toBe(422);
    expect(JSON.stringify(missing.body.detail)).toMatch(/name|price|big|created/);
    expect((await as(t.operator, "POST", `${base()}/active_items`, [{ id: 52 }])).status).toBe(405);
    const many = await get(Array.from({ length: 201 }, () => "qty=gt.0").join("&"));
    expect(many.status).toBe(422);
    expect((await as(t.operator, "POST", `${base()}/items`, [])).status).toBe(422);
    expect((await as(t.operator, "POST", `${base()}/items`, [1, 2])).status).toBe(422);
    expect((await as(t.operator, "PUT", `${base()}/items?id=eq.1`, [{ qty: 1 }])).status).toBe(422);
    expect((await as(t.operator, "PUT", `${base()}/items?id=eq.1`, {})).status).toBe(422);
    expect((await as(t.member, "GET", `${base()}/items/${"9".repeat(30)}`)).status).toBe(422);
    expect((await as(t.member, "GET", `${base()}/items/abc`)).status).toBe(422);
    expect((await get("created=eq.yesterday")).status).toBe(422);
    expect((await get("data=eq.%%%")).status).toBe(422);
  });

  it("rolls back a whole batch when one row is bad (409 naming the unique constraint)", async () => {
    const before = await count();
    const batch = [
      { id: 10, name: "fig", price: "1", big: "1", active: true, created: "2024-01-01T00:00:00Z" },
      { id: 11, name: "apple", price: "1", big: "1", active: true, created: "2024-01-01T00:00:00Z" },
    ];
    const r = await as(t.operator, "POST", `${base()}/items`, batch);
    expect(r.status).toBe(409);
    expect(r.body.detail).toContain("items_name_key");
    expect(await count()).toBe(before);
    expect(await ids("id=eq.10")).toEqual([]);
  });

  it("answers 409 naming the foreign key on insert and on delete of a referenced row", async () => {
    expect((await as(t.operator, "POST", `${base()}/parents`, [{ id: 1 }])).status).toBe(201);
    const orphan = await as(t.operator, "POST", `${base()}/children`, [{ id: 1, parent_id: 1 }, { id: 2, parent_id: 99 }]);
    expect(orphan.status).toBe(409);
    expect(orphan.body.detail).toContain("children_parent_fk");
    expect(await count("children")).toBe(0);
    expect((await as(t.operator, "POST", `${base()}/children`, [{ id: 1, parent_id: 1 }])).status).toBe(201);
    const del = await as(t.operator, "DELETE", `${base()}/parents?id=eq.1`);
    expect(del.status).toBe(409);
    expect(del.body.detail).toContain("children_parent_fk");
  });

  it("answers injection attempts in values, column names, order, select and table with 4xx, data intact", async () => {
    const before = await count();
    const value = await get(`name=eq.${encodeURIComponent("x' OR '1'='1")}`);
    expect(value.status).toBe(200);
    expect(value.body).toEqual([]);
    expect((await get(`name=eq.${encodeURIComponent("apple'; DROP TABLE items; --")}`)).body).toEqual([]);
    expect((await get(`${encodeURIComponent("name;DROP TABLE items")}=eq.1`)).status).toBe(422);
    expect((await get(`${encodeURIComponent('name" OR 1=1 --')}=eq.1`)).status).toBe(422);
    expect((await get(`order=${encodeURIComponent("name; DROP TABLE items")}`)).status).toBe(422);
    expect((await get(`order=${encodeURIComponent("(SELECT 1)")}`)).status).toBe(422);
    expect((await get(`select=${encodeURIComponent("*")}`)).status).toBe(422);
    expect((await get(`select=${encodeURIComponent("name,(SELECT version())")}`)).status).toBe(422);
    expect((await as(t.member, "GET", `${base()}/${encodeURIComponent("items; DROP TABLE items")}`)).status).toBe(404);
    expect((await as(t.member, "GET", `${base()}/${engine.name === "postgres" ? "pg_class" : "user"}`)).status).toBe(404);
    const inBody = await as(t.operator, "POST", `${base()}/items`, [{ id: 30, "name) VALUES ('x'); DROP TABLE items; --": "x" }]);
    expect(inBody.status).toBe(422);
    const upd = await as(t.operator, "PUT", `${base()}/items?id=eq.1`, { note: "'); DROP TABLE items; --" });
    expect(upd.status).toBe(200);
    expect((await as(t.member, "GET", `${base()}/items/1`)).body.note).toBe("'); DROP TABLE items; --");
    expect(await count()).toBe(before);
  });

  it("updates by filter (body and set=), deletes by filter, refuses both without a filter unless all=true", async () => {
    const byBody = await as(t.operator, "PUT", `${base()}/items?name=in.apple,banana`, { qty: 42, meta: { k: "v" } });
    expect(byBody.status).toBe(200);
    expect(byBody.body).toEqual({ rows_affected: 2 });
    expect(await ids("qty=eq.42")).toEqual([1, 2]);
    const bySet = await as(t.operator, "PUT", `${base()}/items?id=eq.3&set=qty.43&set=note.${encodeURIComponent("a.b")}`);
    expect(bySet.status).toBe(200);
    expect((await as(t.member, "GET", `${base()}/items/3`)).body).toMatchObject({ qty: 43, note: "a.b" });
    expect((await as(t.operator, "PUT", `${base()}/items?id=eq.999`, { qty: 1 })).body).toEqual({ rows_affected: 0 });
    const noFilter = await as(t.operator, "PUT", `${base()}/items`, { qty: 1 });
    expect(noFilter.status).toBe(400);
    expect((await as(t.operator, "DELETE", `${base()}/items`)).status).toBe(400);
    expect(await ids("qty=eq.1")).toEqual([]);
    expect((await as(t.operator, "PUT", `${base()}/items?all=true`, { active: true })).body).toEqual({ rows_affected: 5 });
    const del = await as(t.operator, "DELETE", `${base()}/items?id=ge.5`);
    expect(del.body).toEqual({ rows_affected: 1 });
    expect(await count()).toBe(4);
  });

  it("lets members read but not write, and hides another org's project (404)", async () => {
    expect((await as(t.member, "POST", `${base()}/items`, [{ id: 60 }])).status).toBe(403);
    expect((await as(t.member, "DELETE", `${base()}/items?id=eq.1`)).status).toBe(403);
    expect((await as(t.member, "PUT", `${base()}/items?id=eq.1`, { qty: 1 })).status).toBe(403);
    const other = await tenant(sys, [entry()]);
    for (const [method, path] of [["GET", "/auto/v1/"], ["GET", base()], ["GET", `${base()}/items`], ["GET", `${base()}/items/1`], ["DELETE", `${base()}/items?id=eq.1`]] as const) {
      const r = await as(other.operator, method, path, undefined, t.projectId);
      expect([method, path, r.status]).toEqual([method, path, 404]);
    }
    expect(await count()).toBe(4);
  });

  it("serves a column added with ALTER TABLE without a restart", async () => {
    await db.exec("ALTER TABLE items ADD COLUMN added_later INT");
    const named = await get("select=id,added_later&id=eq.1");
    expect(named.status).toBe(200);
    expect(named.body).toEqual([{ id: 1, added_later: null }]);
    expect((await as(t.operator, "PUT", `${base()}/items?id=eq.1`, { added_later: 7 })).status).toBe(200);
    await waitFor(async () => ((await as(t.member, "GET", `${base()}/items/1`)).body.added_later === 7 ? true : undefined), { timeoutMs: 5000, intervalMs: 100, message: "new column never appeared in plain reads" });
    await db.exec("ALTER TABLE items DROP COLUMN added_later");
    const gone = await get("select=id,added_later");
    expect(gone.status).toBe(422);
  });

  it("cuts a slow statement off with 504", async () => {
    const r = await as(t.member, "GET", `${base()}/slow`);
    expect(r.status).toBe(504);
  });
}

export { call, startSystem };
