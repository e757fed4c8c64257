import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page, type Request } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";
import { newUlid } from "@pragma/ids";
import { testInfraUrls, waitFor } from "@pragma/testing";
// pg is a dependency of the services, not of the workspace root.
import { Client } from "../../../services/resource-store/node_modules/pg";
import { call, SERVER_KEY, startSystem, type RunningSystem } from "../../../test/e2e/system";

/**
 * The web console in Debian's Chromium (headless, driven by playwright-core) against the
 * whole system: everything a user does goes through the browser, the API is used only to
 * set the stage (org, keys) and to confirm what the browser showed.
 *
 * CONSOLE_SCREENSHOTS=docs/console also writes the README's screenshots (1280×800).
 */
const ROOT = resolve(__dirname, "../../..");
const CHROMIUM = "/usr/bin/chromium";
const SHOTS = process.env.CONSOLE_SCREENSHOTS ? resolve(ROOT, process.env.CONSOLE_SCREENSHOTS) : undefined;
const sk = { "x-server-key": SERVER_KEY };
const MARKUP = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;
const TAG_MARKUP = "<b>bold</b>";

describe("the web console in Chromium", () => {
  let sys: RunningSystem;
  let browser: Browser;
  let pg: Client;
  const orgId = newUlid();
  let projectId: string;
  let adminKey: string;
  let memberKey: string;
  let adminAuth: Record<string, string>;
  const suffix = newUlid().slice(-6).toLowerCase();
  const dbName = `console_db_${suffix}`;
  const a = `a-${suffix}`;
  const b = `b-${suffix}`;
  const seriousViolations: string[] = [];
  /** Uncaught errors and CSP violations in the pages (checked at the end, with the axe results). */
  const pageErrors: string[] = [];

  const dbEntry = (username: string) => ({
    host: "127.0.0.1",
    port: String(new URL(testInfraUrls().databaseUrl).port || 5432),
    username,
    password: "console-test-pw",
    db_name: "postgres",
    db_type: "postgres",
    connect_timeout_secs: 5,
    idle_timeout_secs: 30,
    max_open_connections: 5,
    max_idle_connections: 2,
  });

  async function key(role: string): Promise<string> {
    const res = await call(sys.baseUrl, "POST", `/orgs/${orgId}/api-keys`, { headers: sk, body: { name: `${role}-key`, role, project_id: projectId, space_id: spaceId } });
    expect(res.status).toBe(201);
    return res.body.api_key as string;
  }
  let spaceId: string;

  async function axe(page: Page, what: string): Promise<void> {
    const result = await new AxeBuilder({ page }).analyze();
    for (const v of result.violations) {
      if (v.impact === "serious" || v.impact === "critical") seriousViolations.push(`${what}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    }
  }

  async function shot(page: Page, name: string): Promise<void> {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  }

  async function newPage(viewport = { width: 1280, height: 800 }): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    // The app must work under its CSP: the browser reports every blocked script, style or eval.
    page.on("console", (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) pageErrors.push(`CSP: ${m.text()}`);
    });
    return { context, page };
  }

  /** Keyboard only: Tab to the key field, type, Enter submits (a real labelled form). */
  async function login(page: Page, apiKey: string): Promise<void> {
    await page.goto(`${sys.baseUrl}/console/`);
    await page.getByLabel("API key").waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("api-key");
    await page.keyboard.type(apiKey);
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Log out" }).waitFor();
  }

  const sessionToken = (page: Page) => page.evaluate(() => (JSON.parse(sessionStorage.getItem("pragma.console.session") ?? "{}") as { token?: string }).token);

  const state = (page: Page, key: string, s: string) => page.locator(`tr[data-key="${key}"] .state`, { hasText: new RegExp(`^${s}$`) });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: these browser tests drive Debian's Chromium. Install it: apt-get install -y chromium (.ci/run does this)`);
    }
    if (!existsSync(join(ROOT, "packages/console/dist/index.html"))) {
      throw new Error("packages/console/dist is missing: run `npm run build` (npm test does) before these tests");
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    sys = await startSystem("console");
    pg = new Client({ connectionString: testInfraUrls().databaseUrl });
    await pg.connect();
    const org = await call(sys.baseUrl, "POST", "/orgs", {
      headers: sk,
      body: { org_id: orgId, name: "Console Co", abbreviation: `console-${suffix}`, admin_email: "a@console.test", admin_name: "A", address: "1 St", state: "KA", country: "IN", pin_code: "560001" },
    });
    expect(org.status).toBe(201);
    // The project's database credentials are wrong from the start: a login role that does not exist.
    const project = await call(sys.baseUrl, "POST", `/orgs/${orgId}/projects`, { headers: sk, body: { name: "main", abbreviation: "main", database: [dbEntry(`no_role_${suffix}`)] } });
    expect(project.status).toBe(201);
    projectId = project.body.project_id;
    spaceId = project.body.space_id;
    adminKey = await key("admin");
    memberKey = await key("member");
    const tok = await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: adminKey } });
    adminAuth = { authorization: `Bearer ${tok.body.access_token}` };
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
    if (pg) {
      for (const db of [dbName, `${dbName}_2`]) await pg.query(`DROP DATABASE IF EXISTS "${db}"`).catch(() => undefined);
      await pg.end();
    }
  });

  it("is served with a strict CSP and logs in with an API key (kept in session storage, never in the URL)", async () => {
    const { context, page } = await newPage();
    const res = await page.goto(`${sys.baseUrl}/console/`);
    const csp = res!.headers()["content-security-policy"]!;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe");
    await page.getByLabel("API key").waitFor();
    await axe(page, "login");
    await shot(page, "login");
    // A wrong key: the API's own words.
    await page.getByLabel("API key").fill("pk_not-a-real-key");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("alert").waitFor();
    expect(await page.getByRole("alert").textContent()).toMatch(/invalid|revoked|unknown|not authenticated/i);
    await login(page, adminKey);
    expect(page.url()).not.toContain(adminKey);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByLabel("API key").waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await context.close();
  }, 120_000);

  it("applies a two-resource YAML with a reference in the CLI's order, shows both reaching ready live, and the API's and the CLI's errors", async () => {
    const { context, page } = await newPage();
    await login(page, adminKey);
    await page.getByRole("link", { name: "Apply" }).click();
    // The CLI's own validator: nothing is sent.
    await page.getByLabel("YAML").fill("provider: pragma\nresource: config\nname: x\nconfig: {}\nbogus: 1\n");
    await page.getByRole("button", { name: "Check" }).click();
    expect(await page.getByRole("alert").textContent()).toContain('unknown field "bogus"');
    // B first in the file; the CLI's ordering applies A first.
    const yaml = [
      `provider: pragma\nresource: config\nname: ${b}\nconfig:\n  host: "\${pragma/config/${a}.outputs.conn.host}"\n`,
      `provider: pragma\nresource: config\nname: ${a}\nconfig:\n  conn:\n    host: db.internal\n`,
    ].join("---\n");
    await page.getByLabel("YAML").fill(yaml);
    await page.getByRole("button", { name: "Apply" }).click();
    const rows = page.locator("table[aria-label='Apply progress'] tbody tr");
    await state(page, `pragma/config/${a}`, "ready").waitFor({ timeout: 60_000 });
    await state(page, `pragma/config/${b}`, "ready").waitFor({ timeout: 60_000 });
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-key")))).toEqual([`pragma/config/${a}`, `pragma/config/${b}`]);
    const bBody = await call(sys.baseUrl, "GET", `/resources/${encodeURIComponent(`resource:pragma_config_${b}`)}`, { headers: adminAuth });
    expect(bBody.body.lifecycle_state).toBe("ready");
    await axe(page, "apply");
    await shot(page, "apply");
    // A's page names B among its dependents, B's names A as its dependency.
    await page.getByRole("link", { name: `pragma/config/${a}` }).click();
    await page.getByRole("link", { name: `pragma/config/${b}` }).click();
    await page.getByRole("heading", { name: new RegExp(b) }).waitFor();
    await page.getByRole("link", { name: `pragma/config/${a}` }).waitFor();
    // The graph draws the same: A's box (ready) with one arrow into B's; a click on it opens A.
    const aBox = page.locator(`figure.graph a[data-id="resource:pragma_config_${a}"]`);
    await aBox.waitFor();
    expect(await aBox.locator("text.graph-state").textContent()).toBe("ready");
    expect(await page.locator("figure.graph path.graph-edge").count()).toBe(1);
    expect(await page.locator("figure.graph a.graph-center").getAttribute("data-id")).toBe(`resource:pragma_config_${b}`);
    await shot(page, "resource-graph");
    await aBox.click();
    await page.getByRole("heading", { name: new RegExp(a) }).waitFor();
    await page.locator(`figure.graph a.graph-center[data-id="resource:pragma_config_${a}"]`).waitFor();
    await page.getByRole("link", { name: "Apply" }).click();
    // The API's detail, word for word: a dependency that does not exist.
    await page.getByLabel("YAML").fill(`provider: pragma\nresource: config\nname: c-${suffix}\nconfig: {}\ndepends_on: [pragma/config/missing-${suffix}]\n`);
    await page.getByRole("button", { name: "Apply" }).click();
    await page.locator("td.message", { hasText: "Dependency validation failed" }).waitFor({ timeout: 30_000 });
    await context.close();
  }, 180_000);

  it("lists resources with filters and shows a change live, without a reload", async () => {
    const { context, page } = await newPage();
    let exchangesInFlight = 0;
    const isExchange = (q: Request) => q.url().endsWith("/auth/token");
    page.on("request", (q) => void (isExchange(q) && exchangesInFlight++));
    page.on("requestfinished", (q) => void (isExchange(q) && exchangesInFlight--));
    page.on("requestfailed", (q) => void (isExchange(q) && exchangesInFlight--));
    await login(page, adminKey);
    await page.locator(`tr[data-id="resource:pragma_config_${a}"]`).waitFor();
    await page.getByText("Live: states update as they change.").waitFor();
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));
    // A change made elsewhere (the API) shows up in this page by itself.
    const live = `live-${suffix}`;
    const applied = await call(sys.baseUrl, "POST", "/resources/apply", { headers: adminAuth, body: { provider: "pragma", resource: "config", name: live, config: { v: 1 }, lifecycle_state: "pending" } });
    expect(applied.status).toBe(200);
    await page.locator(`tr[data-id="resource:pragma_config_${live}"] .state`, { hasText: "ready" }).waitFor({ timeout: 60_000 });
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
    // State and name filters.
    await page.getByLabel("State").selectOption("ready");
    await page.getByLabel("Search by name").fill(b);
    await waitFor(async () => ((await page.locator("tbody tr").count()) === 1 ? true : undefined), { timeoutMs: 10_000, message: "the name search did not narrow the list to one" });
    await page.getByLabel("Search by name").fill("");
    // A token the server no longer accepts is exchanged again from the key, silently.
    await page.evaluate(() => {
      const k = "pragma.console.session";
      const s = JSON.parse(sessionStorage.getItem(k)!);
      sessionStorage.setItem(k, JSON.stringify({ ...s, token: "not-a-token" }));
    });
    await page.getByLabel("Provider").fill("pragma");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.locator(`tr[data-id="resource:pragma_config_${live}"]`).waitFor();
    expect(await page.getByRole("alert").count()).toBe(0);
    // A token about to expire is exchanged before it is sent: no 401 at all this time.
    // First let the step before settle: its re-exchange (shared by the list and the watch
    // stream) must have finished and saved a real token, or this step's request would join
    // that exchange instead of sending its own.
    await waitFor(async () => ((await sessionToken(page)) !== "not-a-token" && exchangesInFlight === 0 ? true : undefined), { timeoutMs: 10_000, message: "the bad token of the step before was never replaced" });
    const unauthorized: string[] = [];
    const exchanges: string[] = [];
    const apiCalls: { url: string; auth: string | undefined }[] = [];
    // Only the requests this step sends: an answer to one sent before does not count.
    const sentHere = new Set<Request>();
    page.on("request", (q) => {
      sentHere.add(q);
      const auth = q.headers()["authorization"];
      if (auth !== undefined) apiCalls.push({ url: q.url(), auth });
    });
    page.on("response", (r) => {
      if (!sentHere.has(r.request())) return;
      if (r.status() === 401) unauthorized.push(r.url());
      if (r.url().endsWith("/auth/token")) exchanges.push(String(r.status()));
    });
    await page.evaluate(() => {
      const k = "pragma.console.session";
      const s = JSON.parse(sessionStorage.getItem(k)!);
      sessionStorage.setItem(k, JSON.stringify({ ...s, token: "not-a-token", expiresAt: Date.now() + 10_000 }));
    });
    await page.getByLabel("Provider").fill("");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.locator(`tr[data-id="resource:pragma_config_${live}"]`).waitFor();
    await waitFor(async () => (exchanges.length ? true : undefined), { timeoutMs: 10_000, message: "the token was not exchanged again before expiry" });
    expect(exchanges).toEqual(["200"]);
    expect(unauthorized).toEqual([]);
    // Nothing left with the token about to expire: every API call of this step carried the new one.
    expect(apiCalls.length).toBeGreaterThan(0);
    expect(apiCalls.filter((c) => c.auth === "Bearer not-a-token")).toEqual([]);
    await axe(page, "resources");
    await shot(page, "resources");
    await context.close();
  }, 180_000);

  it("shows markup in names, config values and tags as text, never as HTML", async () => {
    const name = `xss-${suffix}`;
    const applied = await call(sys.baseUrl, "POST", "/resources/apply", {
      headers: adminAuth,
      body: { provider: "pragma", resource: "config", name, config: { html: MARKUP, nested: { s: "</pre><script>window.__xss=3</script>" } }, tags: [TAG_MARKUP], lifecycle_state: "pending" },
    });
    expect(applied.status).toBe(200);
    const { context, page } = await newPage();
    await login(page, adminKey);
    await page.locator(`tr[data-id="resource:pragma_config_${name}"] td`, { hasText: TAG_MARKUP }).waitFor();
    await page.getByRole("link", { name }).click();
    await page.getByRole("heading", { name: new RegExp(name) }).waitFor();
    await page.locator(".state", { hasText: "ready" }).waitFor({ timeout: 60_000 });
    expect(await page.locator("pre[aria-label='Config']").textContent()).toContain(JSON.stringify(MARKUP));
    expect(await page.locator("pre[aria-label='Outputs']").textContent()).toContain(JSON.stringify(MARKUP));
    expect(await page.getByText(TAG_MARKUP).count()).toBeGreaterThan(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.locator("main img, main script, main b").count()).toBe(0);
    await page.getByRole("heading", { name: "Depends on" }).waitFor();
    await axe(page, "resource");
    await context.close();
  }, 120_000);

  it("fails a resource into the dead letters, inspects it, fixes the project's credentials and retries it to ready", async () => {
    const { context, page } = await newPage();
    await login(page, adminKey);
    await page.getByRole("link", { name: "Apply" }).click();
    const name = `db-${suffix}`;
    await page.getByLabel("YAML").fill(`provider: postgres\nresource: database\nname: ${name}\nconfig:\n  name: ${dbName}\n`);
    await page.getByRole("button", { name: "Apply" }).click();
    await state(page, `postgres/database/${name}`, "failed").waitFor({ timeout: 60_000 });
    const other = `db2-${suffix}`;
    await page.getByLabel("YAML").fill(`provider: postgres\nresource: database\nname: ${other}\nconfig:\n  name: ${dbName}_2\n`);
    await page.getByRole("button", { name: "Apply" }).click();
    await state(page, `postgres/database/${other}`, "failed").waitFor({ timeout: 60_000 });

    await page.getByRole("link", { name: "Dead letters" }).click();
    const entry = page.locator("li.dl-entry", { hasText: `postgres/database/${name}` });
    await waitFor(
      async () => {
        if (await entry.count()) return true;
        await page.getByRole("button", { name: "Refresh" }).click();
        await page.waitForTimeout(300);
        return undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: "the dead letter never showed up in the console" },
    );
    // Delete one (confirmed), and the other entry stays.
    const otherEntry = page.locator("li.dl-entry", { hasText: `postgres/database/${other}` });
    await otherEntry.waitFor();
    await otherEntry.getByRole("button", { name: "Delete" }).click();
    await otherEntry.getByRole("button", { name: "Cancel" }).click();
    expect(await otherEntry.count()).toBe(1);
    await otherEntry.getByRole("button", { name: "Delete" }).click();
    await otherEntry.getByRole("button", { name: "Confirm" }).click();
    await otherEntry.waitFor({ state: "detached" });
    expect(await entry.count()).toBe(1);
    // The reason filter.
    await page.getByLabel("Reason").selectOption("expired");
    await page.getByRole("button", { name: "Filter" }).click();
    await entry.waitFor({ state: "detached" });
    await page.getByLabel("Reason").selectOption("permanent_error");
    await page.getByRole("button", { name: "Filter" }).click();
    await entry.waitFor();
    expect(await entry.locator(".reason").textContent()).toBe("permanent_error");
    await entry.getByRole("button", { name: /Inspect/ }).click();
    await entry.getByLabel("Payload").waitFor();
    expect(await entry.getByLabel("Payload").textContent()).toContain(dbName);
    expect(await entry.locator(".dl-detail ol li").count()).toBeGreaterThan(0);
    expect(await entry.textContent()).toMatch(/no_role_/);
    expect(await page.content()).not.toContain("console-test-pw");
    await axe(page, "dead letters");
    await shot(page, "dead-letters");

    // Fix the credentials on the admin page (the password field is asked for again, never shown).
    await page.getByRole("link", { name: "Org & projects" }).click();
    const username = page.locator("input[name='username-0']");
    await username.waitFor();
    expect(await username.inputValue()).toBe(`no_role_${suffix}`);
    expect(await page.locator("input[name='password-0']").inputValue()).toBe("");
    await username.fill("postgres");
    await page.locator("input[name='password-0']").fill("console-test-pw");
    await page.getByRole("button", { name: "Save databases" }).click();
    await page.getByText("Saved: the project's connection pools rebuild").waitFor().catch(async (err) => {
      throw new Error(`${err}\nalerts: ${(await page.getByRole("alert").allTextContents()).join(" | ")}`);
    });
    expect(await page.content()).not.toContain("console-test-pw");
    await axe(page, "admin");
    await shot(page, "admin");

    await page.getByRole("link", { name: "Dead letters" }).click();
    await entry.waitFor();
    await entry.getByRole("button", { name: "Retry" }).click();
    await entry.getByRole("button", { name: "Confirm" }).click();
    await page.getByRole("status").filter({ hasText: `Retried postgres/database/${name}.` }).waitFor();
    await entry.waitFor({ state: "detached" });
    // Bulk operations for a provider, confirmed; nothing is left to retry.
    await page.getByLabel("Provider").fill("postgres");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.getByRole("button", { name: "Retry all of postgres" }).click();
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByRole("status").filter({ hasText: "Retried 0." }).waitFor();
    await page.getByRole("button", { name: "Delete all of postgres" }).click();
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByRole("status").filter({ hasText: "Deleted 0." }).waitFor();

    // The resource's own page turns ready live.
    await page.goto(`${sys.baseUrl}/console/resources/${encodeURIComponent(`resource:postgres_database_${name}`)}`);
    await page.locator("h1 .state", { hasText: "ready" }).waitFor({ timeout: 60_000 }).catch(async (err) => {
      const api = await call(sys.baseUrl, "GET", `/resources/${encodeURIComponent(`resource:postgres_database_${name}`)}`, { headers: adminAuth });
      const dl = await call(sys.baseUrl, "GET", "/ops/dead-letter", { headers: adminAuth });
      throw new Error(`${err}\nshown: ${await page.locator("h1").textContent()}\nAPI: ${api.text}\ndead letters: ${dl.text}`);
    });
    await shot(page, "resource");
    const exists = await pg.query("SELECT 1 FROM pg_database WHERE datname = $1", [dbName]);
    expect(exists.rowCount).toBe(1);
    await context.close();
  }, 240_000);

  it("lets an admin create a space, create an API key (shown once) and revoke it", async () => {
    const { context, page } = await newPage();
    await login(page, adminKey);
    await page.getByRole("link", { name: "Org & projects" }).click();
    await page.getByLabel("New space").fill("staging");
    await page.getByRole("button", { name: "Create space" }).click();
    await page.locator("li", { hasText: "staging" }).waitFor();
    // The API's own error text: an empty name.
    await page.getByRole("button", { name: "Create key" }).click();
    expect(await page.getByRole("alert").textContent()).toMatch(/name/);
    await page.getByLabel("Name", { exact: true }).fill("browser-made");
    await page.getByLabel("Role").selectOption("operator");
    await page.getByRole("button", { name: "Create key" }).click();
    const secret = (await page.locator("code.secret").textContent())!;
    expect(secret).toMatch(/^pk_/);
    const works = await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: secret } });
    expect(works.status).toBe(200);
    await page.getByRole("button", { name: "I have stored it" }).click();
    expect(await page.locator("code.secret").count()).toBe(0);
    const row = page.locator("tr", { hasText: "browser-made" });
    await row.getByRole("button", { name: "Revoke" }).click();
    await row.getByRole("button", { name: "Confirm" }).click();
    await row.getByText(/^revoked/).waitFor();
    await waitFor(async () => ((await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: secret } })).status === 401 ? true : undefined), {
      timeoutMs: 10_000,
      message: "the revoked key still exchanges for a token",
    });
    await context.close();
  }, 120_000);

  it("hides operator actions from a member", async () => {
    const { context, page } = await newPage();
    await login(page, memberKey);
    expect(await page.getByRole("link", { name: "Dead letters" }).count()).toBe(0);
    expect(await page.getByRole("link", { name: "Org & projects" }).count()).toBe(0);
    await page.goto(`${sys.baseUrl}/console/dead-letters`);
    await page.getByText("Dead-letter operations need the operator or admin role.").waitFor();
    expect(await page.getByRole("button", { name: /Retry|Delete/ }).count()).toBe(0);
    await page.goto(`${sys.baseUrl}/console/resources/${encodeURIComponent(`resource:pragma_config_${a}`)}`);
    await page.getByRole("heading", { name: new RegExp(a) }).waitFor();
    expect(await page.getByLabel(/Reveal/).count()).toBe(0);
    // Members manage resources: health (the API's answer or its own error text), delete with a confirmation, seen live.
    await page.goto(`${sys.baseUrl}/console/resources/${encodeURIComponent(`resource:pragma_config_live-${suffix}`)}`);
    await page.getByRole("heading", { name: new RegExp(`live-${suffix}`) }).waitFor();
    await page.getByRole("button", { name: "Check health" }).click();
    await page.locator("pre[aria-label='Health'], p.error").first().waitFor();
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByText("This resource was deleted.").waitFor({ timeout: 60_000 });
    const gone = await call(sys.baseUrl, "GET", `/resources/${encodeURIComponent(`resource:pragma_config_live-${suffix}`)}`, { headers: adminAuth });
    expect(gone.status).toBe(404);
    await context.close();
  }, 120_000);

  it("fits a phone's width", async () => {
    const { context, page } = await newPage({ width: 390, height: 844 });
    await login(page, adminKey);
    await page.locator(`tr[data-id="resource:pragma_config_${a}"]`).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(1);
    await axe(page, "resources (phone)");
    await shot(page, "resources-phone");
    await context.close();
  }, 120_000);

  it("has no serious or critical axe violations on any page scanned, no uncaught page error and no CSP violation", () => {
    expect(seriousViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
