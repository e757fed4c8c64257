import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startSystem, type RunningSystem } from "../../../test/e2e/system";
import { createOrg, rid, type Org } from "../../../test/e2e/tenant";
import { adminToken } from "../../../test/e2e/pushed";

/**
 * `pragma providers …` as a user runs it (the built binary, a subprocess): init → push
 * --deploy --wait → list/builds/logs/status → a second version → rollback with deploy
 * ID VERSION → a failing build prints its log and exits 1 → delete --cascade.
 */
const ROOT = resolve(__dirname, "../../..");
const BIN = join(ROOT, "packages/cli/dist/bin.js");

function exec(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env, cwd: ROOT, timeout: 180_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

describe("pragma providers", () => {
  let sys: RunningSystem;
  let org: Org;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const pragma = async (args: string[], code = 0) => {
    const r = await exec(args, env);
    if (r.code !== code) throw new Error(`pragma ${args.join(" ")}: expected exit ${code}, got ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    return r;
  };
  beforeAll(async () => {
    sys = await startSystem("providers-cli");
    org = await createOrg(sys.baseUrl);
    home = mkdtempSync(join(tmpdir(), "pragma-providers-cli-"));
    env = { PATH: process.env.PATH, HOME: home, PRAGMA_CONFIG_DIR: join(home, "config"), PRAGMA_API_URL: sys.baseUrl, PRAGMA_AUTH_TOKEN: await adminToken(sys.baseUrl, org.orgId), PRAGMA_PROJECT_ID: org.projectId };
  });
  afterAll(async () => {
    await sys?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("scaffolds, pushes, deploys, rolls back and deletes", async () => {
    const dir = join(home, "tools");
    expect((await pragma(["providers", "init", dir, "--name", "tools"])).stdout).toMatch(/Created provider "tools"/);
    await pragma(["providers", "init", dir, "--name", "tools"], 2);

    const first = await pragma(["providers", "push", dir, "--name", "tools", "--deploy", "--wait", "-o", "json"]);
    const v1 = JSON.parse(first.stdout).version as string;
    expect(JSON.parse(first.stdout)).toMatchObject({ status: "success", deployment: { version: v1, healthy: true } });
    expect(first.stderr).toMatch(/build .*: success/);

    const list = JSON.parse((await pragma(["providers", "list", "-o", "json"])).stdout);
    expect(list).toEqual(expect.arrayContaining([expect.objectContaining({ provider_id: "tools", current_version: v1 })]));
    expect((await pragma(["providers", "logs", "tools", v1])).stdout).toMatch(/types: note/);
    expect(JSON.parse((await pragma(["providers", "status", "tools", "-o", "json"])).stdout)).toMatchObject({ version: v1, healthy: true });

    // Version 2 changes the outputs; the resource picks it up on its next event.
    const src = join(dir, "src/index.ts");
    writeFileSync(src, readFileSync(src, "utf8").replace("slug: slugify(ctx.config.title), priority", 'slug: "v2-" + slugify(ctx.config.title), priority'));
    await new Promise((r) => setTimeout(r, 1100)); // versions are per second
    const v2 = JSON.parse((await pragma(["providers", "push", dir, "--name", "tools", "--deploy", "--wait", "-o", "json"])).stdout).version as string;
    expect(v2 > v1).toBe(true);
    const c = org.client();
    const ref = { provider: "tools", resource: "note", name: "n" };
    await c.apply({ ...ref, config: { title: "Hi There", priority: 1, archived: false }, lifecycle_state: "pending" });
    expect((await c.waitFor(rid(ref), "ready", 30_000)).body.outputs.slug).toBe("v2-hi-there");

    // Rollback: v1 again; after the workers' short deployment cache, new events run on v1.
    expect((await pragma(["providers", "deploy", "tools", v1])).stdout).toMatch(new RegExp(`Deployed tools ${v1}`));
    await new Promise((r) => setTimeout(r, 1500));
    await c.apply({ ...ref, config: { title: "Hi Again", priority: 1, archived: false }, lifecycle_state: "pending" });
    const back = await c.waitFor(rid(ref), "ready", 30_000);
    expect(back.body.outputs.slug).toBe("hi-again");
    const builds = JSON.parse((await pragma(["providers", "builds", "tools", "-o", "json"])).stdout);
    expect(builds.map((b: { version: string }) => b.version)).toEqual([v2, v1]);

    // A build that fails: exit 1 and the log on stderr.
    writeFileSync(src, "import { nothing } from './missing';\nexport default nothing;\n");
    await new Promise((r) => setTimeout(r, 1100));
    const bad = await pragma(["providers", "push", dir, "--name", "tools", "--wait"], 1);
    expect(bad.stderr).toMatch(/bundling failed/);
    expect(bad.stderr).toMatch(/missing/);

    await pragma(["providers", "delete", "tools"], 1);
    expect((await pragma(["providers", "delete", "tools", "--cascade"])).stdout).toMatch(/1 resource/);
    await c.waitFor(rid(ref), "gone", 30_000);
  }, 240_000);
});
