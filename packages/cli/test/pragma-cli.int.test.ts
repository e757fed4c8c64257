import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import YAML from "yaml";
import { newUlid } from "@pragma/ids";
import { SERVER_KEY, startSystem, type RunningSystem } from "../../../test/e2e/system";

/**
 * The built `pragma` binary, as a subprocess, against the whole system started
 * in-process. Everything goes through the public HTTP API, exactly as a user's
 * shell would. Subprocesses are async: the gateway shares this event loop.
 */
const ROOT = resolve(__dirname, "../../..");
const BIN = join(ROOT, "packages/cli/dist/bin.js");

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(file: string, args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<Result> {
  return new Promise((done) => {
    const child = execFile(file, args, { env, cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      done({ code, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

/** Fails with everything the CLI printed, which is what one needs to see when a step breaks. */
function expectExit(r: Result, code: number): void {
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
}

describe("pragma CLI against the running system", () => {
  let sys: RunningSystem;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const orgId = newUlid();
  let projectId: string;
  let spaceId: string;
  let apiKey: string;

  const pragma = (args: string[], stdin?: string, extraEnv: NodeJS.ProcessEnv = {}) => exec(process.execPath, [BIN, ...args], { ...env, ...extraEnv }, stdin);
  const file = (name: string, text: string) => {
    const path = join(home, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    // Build the binary under test (incremental; a no-op when up to date).
    const build = await exec(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-b", "packages/cli"], process.env);
    if (build.code !== 0) throw new Error(`building the CLI failed:\n${build.stdout}${build.stderr}`);
    sys = await startSystem("cli");
    home = mkdtempSync(join(tmpdir(), "pragma-cli-"));
    // A clean environment: nothing from the developer's shell (tokens, contexts) may leak in.
    env = { PATH: process.env.PATH, HOME: home, PRAGMA_CONFIG_DIR: join(home, "config") };
  }, 120_000);

  afterAll(async () => {
    await sys?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("creates a context", async () => {
    const r = await pragma(["config", "set-context", "it", "--api-url", sys.baseUrl]);
    expectExit(r, 0);
    expect((await pragma(["config", "current-context"])).stdout.trim()).toBe("it");
  });

  it("creates an org with the server key, and says so when it already exists", async () => {
    const args = ["orgs", "create", "--org-id", orgId, "--name", "CLI Co", "--abbreviation", "cli-co", "--admin-email", "ops@cli.test",
      "--admin-name", "Ops", "--address", "1 Road", "--state", "KA", "--country", "IN", "--pin-code", "560001"];
    const first = await pragma(args, undefined, { PRAGMA_SERVER_KEY: SERVER_KEY });
    expectExit(first, 0);
    expect(first.stderr).toBe("");
    expect(first.stdout).toMatch(/^Created/);
    const again = await pragma([...args, "--server-key", SERVER_KEY]);
    expectExit(again, 0);
    expect(again.stdout).toMatch(/Already exists \(208\)/);
  });

  it("creates a project from a file and stores it in the context with --use", async () => {
    const path = file(
      "project.yaml",
      YAML.stringify({
        name: "Web",
        abbreviation: "web",
        database: [{ host: "127.0.0.1", port: "5432", username: "postgres", password: "cli-secret-marker", db_name: "postgres", db_type: "postgres",
          connect_timeout_secs: 5, idle_timeout_secs: 30, max_open_connections: 5, max_idle_connections: 2 }],
      }),
    );
    const r = await pragma(["projects", "create", "--org", orgId, "-f", path, "--use", "-o", "json", "--server-key", SERVER_KEY]);
    expect(r.stderr).toContain("now uses project");
    expectExit(r, 0);
    expect(r.stdout).not.toContain("cli-secret-marker");
    const body = JSON.parse(r.stdout);
    projectId = body.project_id;
    spaceId = body.space_id;
    expect(projectId).toMatch(/^prj_/);
    expect(spaceId).toMatch(/^spc_/);
    const contexts = JSON.parse((await pragma(["config", "get-contexts", "-o", "json"])).stdout);
    expect(contexts).toEqual([{ name: "it", current: true, api_url: sys.baseUrl, project: projectId, space: spaceId }]);
  });

  it("creates an API key and logs in with it, storing credentials with mode 0600", async () => {
    const r = await pragma(["api-keys", "create", "--org", orgId, "--name", "cli", "--role", "operator", "--project", projectId, "--space", spaceId, "-o", "json", "--server-key", SERVER_KEY]);
    expectExit(r, 0);
    expect(r.stderr).toBe("");
    apiKey = JSON.parse(r.stdout).api_key;
    expect(apiKey).toMatch(/^pk_/);

    const login = await pragma(["auth", "login", "--api-key", apiKey]);
    expectExit(login, 0);
    expect(login.stderr).toBe("");
    const credsPath = join(home, "config", "credentials.yaml");
    expect(statSync(credsPath).mode & 0o777).toBe(0o600);
    expect(YAML.parse(readFileSync(credsPath, "utf8")).contexts.it.api_key).toBe(apiKey);

    const me = await pragma(["auth", "whoami", "-o", "json"]);
    expectExit(me, 0);
    expect(JSON.parse(me.stdout)).toMatchObject({ organization_id: orgId, role: "operator" });
  });

  it("re-exchanges an expired stored token transparently", async () => {
    const credsPath = join(home, "config", "credentials.yaml");
    const creds = YAML.parse(readFileSync(credsPath, "utf8"));
    creds.contexts.it.access_token = "expired.token.value";
    creds.contexts.it.expires_at = new Date(Date.now() - 60_000).toISOString();
    writeFileSync(credsPath, YAML.stringify(creds), { mode: 0o600 });
    const me = await pragma(["auth", "whoami", "-o", "json"]);
    expectExit(me, 0);
    expect(me.stderr).toBe("");
    expect(YAML.parse(readFileSync(credsPath, "utf8")).contexts.it.access_token).not.toBe("expired.token.value");
  });

  it("applies two documents where B references A's output, waits until both are ready", async () => {
    // B first in the file: the CLI must still apply A first.
    const path = file(
      "two.yaml",
      [
        YAML.stringify({ provider: "pragma", resource: "config", name: "b", config: { derived: "prefix-${pragma/config/a.outputs.setting}" }, tags: ["cli-it"] }),
        YAML.stringify({ provider: "pragma", resource: "config", name: "a", config: { setting: "v1" }, tags: ["cli-it"] }),
      ].join("---\n"),
    );
    // Polling every 10 minutes: only the watch stream can see both ready within the timeout.
    const r = await pragma(["resources", "apply", "-f", path, "--wait", "--timeout", "60"], undefined, { PRAGMA_POLL_MS: "600000" });
    expectExit(r, 0);
    expect(r.stderr).toBe("");
    const lines = r.stdout.split("\n");
    // Not a TTY: plain lines, no escape codes.
    expect(r.stdout).not.toContain("\x1b[");
    expect(lines.indexOf("pragma/config/a: applying")).toBeLessThan(lines.indexOf("pragma/config/b: applying"));
    expect(r.stdout).toContain("Summary: 2 ready, 0 failed, 0 not attempted");
  });

  it("follows changes live with `resources watch`, one JSON object per line with -o json", async () => {
    const watching = pragma(["resources", "watch", "--provider", "pragma", "--timeout", "20s", "-o", "json"]);
    // The watch is open once the gateway has a stream; then a change is made.
    await new Promise((r) => setTimeout(r, 1_500));
    const applied = await pragma(["resources", "apply", "-f", file("w.yaml", YAML.stringify({ provider: "pragma", resource: "config", name: "watched", config: { k: "v" } })), "--wait", "--timeout", "30"]);
    expectExit(applied, 0);
    const r = await watching;
    expectExit(r, 0);
    const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; id: string | null; resource?: { id: string; lifecycle_state: string } });
    expect(events[0]?.type).toBe("sync");
    const states = events.filter((e) => e.type === "changed" && e.resource?.id === "resource:pragma_config_watched").map((e) => e.resource!.lifecycle_state);
    expect(states[states.length - 1]).toBe("ready");
    expect(events.every((e) => e.id === null || /^\d+$/.test(e.id))).toBe(true);
  });

  it("shows B with the value resolved from A (server-side reference resolution)", async () => {
    const r = await pragma(["resources", "get", "pragma/config/b", "-o", "json"]);
    expectExit(r, 0);
    expect(JSON.parse(r.stdout)).toMatchObject({ lifecycle_state: "ready", outputs: { derived: "prefix-v1" } });
  });

  it("lists resources as JSON, filtered by tag", async () => {
    const r = await pragma(["resources", "list", "--tag", "cli-it", "-o", "json"]);
    expectExit(r, 0);
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout).map((x: { name: string }) => x.name)).toEqual(["a", "b"]);
  });

  it("describes and gets status with every id form", async () => {
    const d = await pragma(["resources", "describe", "pragma:config:a"]);
    expectExit(d, 0);
    expect(d.stdout).toMatch(/State:\s+ready/);
    const s = await pragma(["resources", "status", "resource:pragma_config_a", "-o", "json"]);
    expectExit(s, 0);
    expect(JSON.parse(s.stdout)).toMatchObject({ resource_id: "resource:pragma_config_a", lifecycle_state: "ready" });
  });

  it("shows a resource's history with `resources events`, asks for a refresh, and shows drift in get", async () => {
    const table = await pragma(["resources", "events", "pragma/config/a"]);
    expectExit(table, 0);
    expect(table.stdout.split("\n")[0]).toMatch(/^at\s+kind\s+event\s+request\s+summary/i);
    const json = await pragma(["resources", "events", "pragma:config:a", "-o", "json", "--limit", "2"]);
    expectExit(json, 0);
    const h = JSON.parse(json.stdout) as { resource_id: string; items: { kind: string }[] };
    expect(h.resource_id).toBe("resource:pragma_config_a");
    expect(h.items.map((e) => e.kind)).toEqual(["succeeded", "queued"]);
    const refreshed = await pragma(["resources", "refresh", "pragma/config/a", "-o", "json"]);
    expectExit(refreshed, 0);
    expect(JSON.parse(refreshed.stdout)).toMatchObject({ resource_id: "resource:pragma_config_a", observation_id: expect.stringMatching(/^obs_/) });
    const get = await pragma(["resources", "get", "pragma/config/a"]);
    expectExit(get, 0);
    expect(get.stdout.split("\n")[0]).toMatch(/\bstate\s+drift\s+tags\b/i);
  });

  it("refuses to delete a resource others depend on, naming them and the --force flag; --force deletes it", async () => {
    const path = file(
      "base.yaml",
      [
        YAML.stringify({ provider: "pragma", resource: "config", name: "base", config: { key: "k" } }),
        YAML.stringify({ provider: "pragma", resource: "config", name: "user", config: { v: "${pragma/config/base.outputs.key}" } }),
      ].join("---\n"),
    );
    expectExit(await pragma(["resources", "apply", "-f", path, "--wait", "--timeout", "60"]), 0);
    const refused = await pragma(["resources", "delete", "pragma/config/base"]);
    expectExit(refused, 1);
    expect(refused.stderr).toContain("409");
    expect(refused.stderr).toContain("Cannot delete pragma/config/base: pragma/config/user depends on it");
    expect(refused.stderr).toContain("--force");
    expectExit(await pragma(["resources", "get", "pragma/config/base"]), 0);

    const forced = await pragma(["resources", "delete", "pragma/config/base", "--force", "--wait", "--timeout", "60"]);
    expectExit(forced, 0);
    expect(forced.stdout).toContain("resource:pragma_config_base: deleted");
    const user = await pragma(["resources", "get", "pragma/config/user", "-o", "json"]);
    expectExit(user, 0);
    expect(JSON.parse(user.stdout)).toMatchObject({ lifecycle_state: "ready", outputs: { v: "k" } });
    expectExit(await pragma(["resources", "delete", "pragma/config/user", "--wait", "--timeout", "60"]), 0);
  });

  it("deletes with --wait until the resource is gone", async () => {
    for (const name of ["b", "a"]) {
      const r = await pragma(["resources", "delete", `pragma/config/${name}`, "--wait", "--timeout", "60"]);
      expectExit(r, 0);
    expect(r.stderr).toBe("");
      expect(r.stdout).toContain(`resource:pragma_config_${name}: deleted`);
    }
    const gone = await pragma(["resources", "get", "pragma/config/a"]);
    expectExit(gone, 1);
    expect(gone.stderr).toContain("404");
  });

  it("exits 2 for a bad file and applies nothing", async () => {
    const bad = "provider: pragma\nresource: config\nname: ok\nconfig: {}\n---\nprovider: pragma\nresource: config\nname: [broken\n";
    const r = await pragma(["resources", "apply", "-f", "-"], bad);
    expectExit(r, 2);
    expect(r.stderr).toContain("<stdin> document 2: invalid YAML");
    const got = await pragma(["resources", "get", "pragma/config/ok"]);
    expectExit(got, 1);
  });

  it("exits 1 with the login hint on a 401", async () => {
    const r = await pragma(["resources", "get", "pragma/config/a", "--token", "not-a-jwt"]);
    expectExit(r, 1);
    expect(r.stderr).toContain("401");
    expect(r.stderr).toMatch(/request id: req_/);
    expect(r.stderr).toContain("pragma auth login --api-key");
  });

  it("exits 1 naming the URL when nothing listens there", async () => {
    const r = await pragma(["resources", "list", "--api-url", "http://127.0.0.1:1", "--token", "t"]);
    expectExit(r, 1);
    expect(r.stderr).toContain("cannot reach the API at http://127.0.0.1:1");
  });

  it("never sends the stored credentials to a URL other than the context's", async () => {
    const r = await pragma(["resources", "list", "--api-url", "http://127.0.0.1:1"]);
    expectExit(r, 1);
    expect(r.stderr).toContain("not logged in");
  });

  it("lists types", async () => {
    const r = await pragma(["resources", "types", "--provider", "pragma", "-o", "json"]);
    expectExit(r, 0);
    expect(JSON.parse(r.stdout).map((t: { resource: string }) => t.resource)).toContain("config");
  });

  it("reads the dead-letter store (operator role)", async () => {
    const list = await pragma(["ops", "dead-letter", "list", "-o", "json"]);
    expectExit(list, 0);
    expect(list.stderr).toBe("");
    expect(Array.isArray(JSON.parse(list.stdout))).toBe(true);
    const filtered = await pragma(["ops", "dead-letter", "list", "--reason", "permanent_error", "--type", "database", "--provider", "postgres"]);
    expectExit(filtered, 0);
    expect(filtered.stdout).toBe("No dead-lettered events match\n");
    const bogus = await pragma(["ops", "dead-letter", "list", "--reason", "bogus"]);
    expectExit(bogus, 1);
    expect(bogus.stderr).toContain("422");
    expect(bogus.stderr).toContain("query.reason");
    const del = await pragma(["ops", "dead-letter", "delete", "--all", "-o", "json"]);
    expectExit(del, 0);
    expect(JSON.parse(del.stdout)).toHaveProperty("deleted_count");
  });
});
