import { execFile } from "node:child_process";
import path from "node:path";
import { newUlid } from "@pragma/ids";
import { call, startSystem, type RunningSystem } from "./system";
import { createOrg, rid, type Org } from "./tenant";
import { adminToken, api, pushDir, waitForBuild } from "./pushed";
import { testInfraUrls } from "@pragma/testing";

const EXAMPLE = path.resolve(__dirname, "../../examples/providers/redis-acl");

/** redis-cli, so the check does not share code with the provider under test. */
function redisCli(url: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile("redis-cli", ["-u", url, ...args], (err, out) => (err ? reject(err) : resolve(out.trim()))));
}

/**
 * examples/providers/redis-acl, pushed, built, deployed and used: the ACL user really
 * exists in the local Redis with the generated password, changes with an update, and is
 * gone after the delete.
 */
describe("example provider: Redis ACL users", () => {
  let sys: RunningSystem;
  let org: Org;
  let redisUrl: string;
  beforeAll(async () => {
    sys = await startSystem("providers-example");
    org = await createOrg(sys.baseUrl);
    redisUrl = testInfraUrls().redisUrl;
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it("creates, updates and removes a real Redis user", async () => {
    const token = await adminToken(sys.baseUrl, org.orgId);
    const started = Date.now();
    const pushed = await pushDir(sys.baseUrl, token, "redis-acl", EXAMPLE, { deploy: true });
    expect(pushed.status).toBe(202);
    const build = await waitForBuild(sys.baseUrl, token, "redis-acl", pushed.body.version);
    const log = (await api(sys.baseUrl, token)("GET", `/providers/redis-acl/builds/${pushed.body.version}/logs`)).text;
    expect({ status: build.status, log }).toEqual({ status: "success", log: expect.stringMatching(/types: user/) });
    process.stdout.write(`example provider: push to built in ${Date.now() - started} ms\n${log}`);

    const username = `pragma-it-${newUlid().slice(-8).toLowerCase()}`;
    const c = org.client();
    const ref = { provider: "redis-acl", resource: "user", name: username };
    const config = { redis_url: redisUrl, username, key_pattern: "app:*", commands: "+@read" };
    // Types are registered within the store's cache time after the deploy.
    let applied;
    for (let i = 0; i < 50; i++) {
      applied = await c.apply({ ...ref, config, lifecycle_state: "pending" });
      if (applied.status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(applied!.status).toBe(200);
    const ready = await c.waitFor(rid(ref), "ready", 30_000);
    expect(ready.body.outputs).toMatchObject({ username, password: "[REDACTED]", rules: "~app:* +@read" });
    // An admin reveals the generated password, and the user really logs in with it.
    const revealed = await call(sys.baseUrl, "GET", `/resources/${encodeURIComponent(rid(ref))}?reveal=true`, { headers: { authorization: `Bearer ${token}`, "x-project-id": org.projectId } });
    const password = revealed.body.outputs.password as string;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);

    const acl = await redisCli(redisUrl, ["ACL", "GETUSER", username]);
    expect(acl).toMatch(/~app:\*/);
    // It logs in with that password, may read app:* and nothing else.
    const asUser = (...args: string[]) => redisCli(redisUrl, ["--user", username, "--pass", password, "--no-auth-warning", ...args]);
    expect(await asUser("GET", "app:x")).toBe("");
    expect(await asUser("SET", "app:x", "1")).toMatch(/NOPERM/);
    expect(await asUser("GET", "other:x")).toMatch(/NOPERM/);

    // The type's health hook runs in the provider's process; its resource log has the hook's lines.
    const health = await c.req("GET", `/resources/${encodeURIComponent(rid(ref))}/health`);
    expect({ status: health.status, health: health.body?.status }).toEqual({ status: 200, health: "healthy" });
    const logs = await c.req("GET", `/resources/${encodeURIComponent(rid(ref))}/logs`);
    expect(logs.status).toBe(200);
    expect(JSON.stringify(logs.body)).toMatch(/redis user set/);

    await c.apply({ ...ref, config: { ...config, key_pattern: "cache:*" }, lifecycle_state: "pending" });
    await c.waitFor(rid(ref), "ready", 30_000);
    expect(await redisCli(redisUrl, ["ACL", "GETUSER", username])).toMatch(/~cache:\*/);

    expect((await c.del(rid(ref))).status).toBe(200);
    await c.waitFor(rid(ref), "gone", 30_000);
    expect(await redisCli(redisUrl, ["ACL", "GETUSER", username])).toBe("");
  });
});
