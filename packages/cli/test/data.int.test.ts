import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pg from "pg";
import { testInfraUrls } from "@pragma/testing";
import { startSystem, type RunningSystem } from "../../../test/e2e/system";
import { tenant, type Tenant } from "../../../test/e2e/auto-api-suite";

/** `pragma data …` as a subprocess against the whole system, on a PostgreSQL database of its own. */
const ROOT = resolve(__dirname, "../../..");
const BIN = join(ROOT, "packages/cli/dist/bin.js");

function exec(args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = execFile(process.execPath, [BIN, ...args], { env, cwd: ROOT, timeout: 60_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

describe("pragma data (Auto API from the CLI)", () => {
  const dbName = `autoapi_cli_${Date.now().toString(36)}`;
  const admin = new URL(testInfraUrls().databaseUrl);
  let sys: RunningSystem;
  let t: Tenant;
  let home: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const build = await new Promise<number>((r) => execFile(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-b", "packages/cli"], { cwd: ROOT }, (e) => r(e ? 1 : 0)));
    if (build !== 0) throw new Error("building the CLI failed");
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`CREATE DATABASE "${dbName}"`);
    await c.end();
    const u = new URL(admin.toString());
    u.pathname = `/${dbName}`;
    const d = new pg.Client({ connectionString: u.toString() });
    await d.connect();
    await d.query("CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL, total numeric(10,2) NOT NULL, note text)");
    await d.end();
    sys = await startSystem("cli-data");
    t = await tenant(sys, [{ host: admin.hostname, port: admin.port || "5432", username: decodeURIComponent(admin.username) || "postgres", password: "unused", db_name: dbName, db_type: "postgres", connect_timeout_secs: 5, idle_timeout_secs: 30, max_open_connections: 2, max_idle_connections: 1 }]);
    home = mkdtempSync(join(tmpdir(), "pragma-data-"));
    env = { PATH: process.env.PATH, HOME: home, PRAGMA_CONFIG_DIR: join(home, "config"), PRAGMA_API_URL: sys.baseUrl, PRAGMA_AUTH_TOKEN: t.operator, PRAGMA_PROJECT_ID: t.projectId };
  }, 120_000);

  afterAll(async () => {
    await sys?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
    const c = new pg.Client({ connectionString: admin.toString() });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await c.end();
  });

  it("lists tables, inserts from YAML and JSON, reads with filters, updates and deletes", async () => {
    const tables = await exec(["data", "tables", dbName], env);
    expect(tables.stderr).toBe("");
    expect(tables.stdout).toMatch(/^TABLE\s+KIND\s+PRIMARY KEY\s+COLUMNS/);
    expect(tables.stdout).toMatch(/orders\s+table\s+id\s+id:integer status:text total:numeric\(10,2\) note:text\?/);

    const yaml = join(home, "rows.yaml");
    writeFileSync(yaml, "- { id: 1, status: paid, total: '10.50' }\n- { id: 2, status: open, total: 99 }\n");
    const ins = await exec(["data", "insert", `${dbName}/orders`, "-f", yaml], env);
    expect([ins.code, ins.stdout]).toEqual([0, "Inserted 2 rows\n"]);
    const fromStdin = await exec(["data", "insert", `postgres/${dbName}/orders`, "-f", "-", "-o", "json"], env, JSON.stringify([{ id: 3, status: "paid", total: "1", note: "x" }]));
    expect(JSON.parse(fromStdin.stdout)).toEqual({ rows_affected: 1 });

    const got = await exec(["data", "get", `${dbName}/orders`, "--where", "status=eq.paid", "--order", "id.desc", "--select", "id,total", "--count", "-o", "json"], env);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toEqual([{ id: 3, total: "1.00" }, { id: 1, total: "10.50" }]);
    expect(got.stderr).toBe("2 rows match\n");
    const table = await exec(["data", "get", `${dbName}/orders`, "-w", "total=gt.5", "--order", "id"], env);
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+STATUS\s+TOTAL\s+NOTE$/);
    expect(table.stdout.split("\n").filter(Boolean)).toHaveLength(3);
    const one = await exec(["data", "get", `${dbName}/orders`, "2", "-o", "yaml"], env);
    expect(one.stdout).toContain("status: open");

    const upd = await exec(["data", "update", `${dbName}/orders`, "--where", "status=eq.open", "--set", "note=late"], env);
    expect(upd.stdout).toBe("Updated 1 row\n");
    const noWhere = await exec(["data", "delete", `${dbName}/orders`], env);
    expect(noWhere.code).not.toBe(0);
    expect(noWhere.stderr).toContain("--all");
    const del = await exec(["data", "delete", `${dbName}/orders`, "--where", "id=in.1,2"], env);
    expect(del.stdout).toBe("Deleted 2 rows\n");

    const bad = await exec(["data", "get", `${dbName}/orders`, "--where", "nope=eq.1"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("nope");
  });
});
