import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import AxeBuilder from "@axe-core/playwright";
import { newUlid } from "@pragma/ids";
import { waitFor } from "@pragma/testing";
import { scaffoldFiles } from "../../cli/src/providers/scaffold";
import { call, SERVER_KEY, startSystem, type RunningSystem } from "../../../test/e2e/system";
import { createOrg } from "../../../test/e2e/tenant";
import { api, pushDir, waitForBuild, writePackage } from "../../../test/e2e/pushed";

/**
 * The console's providers pages (api.md §6) in Debian's Chromium against the whole system.
 * The provider is pushed through the API (the CLI's job, not the browser's); everything after
 * that — the build log, deploy, rollback, delete — is done in the browser and checked by the API.
 *
 * CONSOLE_SCREENSHOTS=docs/console also writes docs/console/providers.png (1280×800).
 */
const ROOT = resolve(__dirname, "../../..");
const CHROMIUM = "/usr/bin/chromium";
const SHOTS = process.env.CONSOLE_SCREENSHOTS ? resolve(ROOT, process.env.CONSOLE_SCREENSHOTS) : undefined;
const sk = { "x-server-key": SERVER_KEY };

describe("the console's providers pages in Chromium", () => {
  let sys: RunningSystem;
  let browser: Browser;
  let orgId: string;
  const suffix = newUlid().slice(-6).toLowerCase();
  const pid = `notes${suffix}`.replace(/[^a-z0-9]/g, "x");
  let adminKey: string;
  let memberKey: string;
  let adminTok: string;
  let v1: string;
  let v2: string;
  const seriousViolations: string[] = [];
  const pageErrors: string[] = [];

  async function key(role: string, projectId: string, spaceId: string): Promise<string> {
    const res = await call(sys.baseUrl, "POST", `/orgs/${orgId}/api-keys`, { headers: sk, body: { name: `${role}-key`, role, project_id: projectId, space_id: spaceId } });
    expect(res.status).toBe(201);
    return res.body.api_key as string;
  }

  async function axe(page: Page, what: string): Promise<void> {
    const result = await new AxeBuilder({ page }).analyze();
    for (const v of result.violations) {
      if (v.impact === "serious" || v.impact === "critical") seriousViolations.push(`${what}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    }
  }

  async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("console", (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) pageErrors.push(`CSP: ${m.text()}`);
    });
    return { context, page };
  }

  async function login(page: Page, apiKey: string): Promise<void> {
    await page.goto(`${sys.baseUrl}/console/`);
    await page.getByLabel("API key").fill(apiKey);
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Log out" }).waitFor();
  }

  const deployment = () => api(sys.baseUrl, adminTok)("GET", `/providers/${pid}/deployment`);

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
    sys = await startSystem("console-providers");
    const org = await createOrg(sys.baseUrl);
    orgId = org.orgId;
    adminKey = await key("admin", org.projectId, org.spaceId);
    memberKey = await key("member", org.projectId, org.spaceId);
    const tok = await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: adminKey } });
    adminTok = tok.body.access_token as string;

    // Two builds of the same package, so there is an older one to roll back to (versions are per second).
    const dir = writePackage(scaffoldFiles(pid));
    const first = await pushDir(sys.baseUrl, adminTok, pid, dir);
    expect(first.status).toBe(202);
    v1 = first.body.version;
    expect((await waitForBuild(sys.baseUrl, adminTok, pid, v1, 180_000)).status).toBe("success");
    await waitFor(async () => (new Date().toISOString().replace(/\D/g, "").slice(0, 14) > v1.replace(".", "") ? true : undefined), { timeoutMs: 5_000, intervalMs: 100 });
    const second = await pushDir(sys.baseUrl, adminTok, pid, dir);
    expect(second.status).toBe(202);
    v2 = second.body.version;
    expect(v2 > v1).toBe(true);
    expect((await waitForBuild(sys.baseUrl, adminTok, pid, v2, 180_000)).status).toBe("success");
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await sys?.stop();
  });

  it("lists the provider beside the built-ins, shows a build's whole log, deploys it and rolls back, each after a confirmation", async () => {
    const { context, page } = await newPage();
    await login(page, adminKey);
    await page.getByRole("link", { name: "Providers" }).click();
    await page.locator(`tr[data-provider="${pid}"]`).waitFor();
    expect(await page.locator(`tr[data-provider="pragma"]`).textContent()).toMatch(/built-in/);
    expect(await page.locator(`tr[data-provider="${pid}"]`).textContent()).toMatch(/not deployed/);
    await axe(page, "providers");

    await page.getByRole("link", { name: pid }).click();
    await page.getByRole("heading", { name: `Provider ${pid}` }).waitFor();
    await page.getByText("Not deployed.").waitFor();
    // The log, as the API has it, in full.
    const log = await api(sys.baseUrl, adminTok)("GET", `/providers/${pid}/builds/${v1}/logs`);
    expect(log.text).toMatch(/types: note/);
    await page.getByRole("button", { name: `Show log of build ${v1}` }).click();
    const shown = page.getByRole("region", { name: `Build log of ${v1}` });
    await shown.waitFor();
    expect(await shown.textContent()).toBe(log.text);

    // Deploy the newest: a confirmation first; cancelled, nothing happens.
    await page.getByRole("button", { name: `Deploy ${v2}` }).click();
    await page.getByRole("button", { name: "Cancel" }).click();
    expect((await deployment()).status).toBe(404);
    await page.getByRole("button", { name: `Deploy ${v2}` }).click();
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByText(`Deployed ${pid} ${v2}.`).waitFor();
    // The page keeps asking until the worker runs it and answers a ping.
    await page.locator(".deployment .state", { hasText: /^healthy$/ }).waitFor({ timeout: 60_000 });
    expect(await page.locator(".deployed-version").textContent()).toBe(v2);
    expect((await deployment()).body).toMatchObject({ version: v2, healthy: true });
    await axe(page, "provider (deployed)");

    // Rollback: deploying the older build.
    await page.getByRole("button", { name: `Roll back to ${v1}` }).click();
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByText(`Deployed ${pid} ${v1}.`).waitFor();
    await page.locator(".deployed-version", { hasText: v1 }).waitFor();
    await page.locator(".deployment .state", { hasText: /^healthy$/ }).waitFor({ timeout: 60_000 });
    expect((await deployment()).body).toMatchObject({ version: v1, healthy: true });
    // The log opened before stays open while the page refreshes its builds.
    await page.getByRole("button", { name: `Hide log of build ${v1}` }).waitFor();
    await page.getByRole("region", { name: `Build log of ${v1}` }).waitFor();
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: join(SHOTS, "providers.png") });
    }
    await axe(page, "provider (rolled back, log open)");
    await context.close();
  }, 240_000);

  it("shows a member the providers, builds and logs, but no deploy or delete", async () => {
    const { context, page } = await newPage();
    await login(page, memberKey);
    await page.goto(`${sys.baseUrl}/console/providers/${pid}`);
    await page.getByRole("heading", { name: `Provider ${pid}` }).waitFor();
    await page.locator(`tr[data-version="${v2}"]`).waitFor();
    await page.getByRole("button", { name: `Show log of build ${v2}` }).click();
    await page.getByRole("region", { name: `Build log of ${v2}` }).waitFor();
    expect(await page.getByRole("button", { name: /Deploy|Roll back|Delete/ }).count()).toBe(0);
    expect(await page.getByLabel(/cascade/).count()).toBe(0);
    await axe(page, "provider (member)");
    await context.close();
  }, 120_000);

  it("refuses to delete a provider with resources showing the API's words, then deletes it with cascade", async () => {
    const c = api(sys.baseUrl, adminTok);
    const applied = await c("POST", "/resources/apply", { provider: pid, resource: "note", name: "n1", config: { title: "Hello", priority: 1, archived: false }, lifecycle_state: "pending" });
    expect({ status: applied.status, text: applied.text }).toEqual({ status: 200, text: expect.any(String) });
    const { context, page } = await newPage();
    await login(page, adminKey);
    await page.goto(`${sys.baseUrl}/console/providers/${pid}`);
    await page.getByRole("heading", { name: `Provider ${pid}` }).waitFor();
    await page.getByRole("button", { name: `Delete ${pid}` }).click();
    await page.getByRole("button", { name: "Confirm" }).click();
    const refused = await c("DELETE", `/providers/${pid}`);
    expect(refused.status).toBe(409);
    await page.getByRole("alert").filter({ hasText: refused.body.detail as string }).waitFor();

    await page.getByLabel(/cascade/).check();
    await page.getByRole("button", { name: `Delete ${pid}` }).click();
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByRole("heading", { name: "Providers" }).waitFor();
    await waitFor(async () => ((await c("GET", `/providers/${pid}/builds`)).status === 404 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: "provider never deleted",
    });
    await page.getByRole("button", { name: "Refresh" }).click();
    await page.locator(`tr[data-provider="pragma"]`).waitFor();
    await waitFor(async () => ((await page.locator(`tr[data-provider="${pid}"]`).count()) === 0 ? true : undefined), { timeoutMs: 10_000, intervalMs: 200, message: "still listed" });
    await context.close();
  }, 180_000);

  it("has no serious or critical axe violations, no uncaught page error and no CSP violation", () => {
    expect(seriousViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
