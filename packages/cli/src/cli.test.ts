import { run } from "./cli";
import type { Io } from "./io";

/** In-process run with captured output; fetch throws so any network use fails the test loudly. */
function fakeIo(stdin = "", env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const fetchCalls: string[] = [];
  const io: Io = {
    stdout: { write: (s: string) => out.push(s), isTTY: false },
    stderr: { write: (s: string) => err.push(s) },
    readStdin: async () => stdin,
    env: { PRAGMA_CONFIG_DIR: "/nonexistent/pragma-cli-test", ...env },
    fetch: (async (url: string) => {
      fetchCalls.push(String(url));
      throw new Error("no network in unit tests");
    }) as unknown as typeof fetch,
    now: () => 0,
    homedir: () => "/nonexistent",
    sleep: async () => undefined,
  };
  return { io, stdout: () => out.join(""), stderr: () => err.join(""), fetchCalls };
}

const BAD_FILE = `
provider: pragma
resource: config
name: a
config: {}
---
provider: pragma
resource: config
name: a
config: {}
---
provider: Pragma
resource: config
name: b
config: { key: "\${pragma/config/c.outputs.key}" }
---
provider: pragma
resource: config
name: c
config: { key: "\${pragma/config/d.outputs.key}" }
---
provider: pragma
resource: config
name: d
depends_on: [pragma/config/c]
`;

describe("pragma (in-process)", () => {
  it("exits 2 for a bad file, lists every problem with its document, and sends nothing", async () => {
    const t = fakeIo(BAD_FILE);
    const code = await run(["resources", "apply", "-f", "-"], t.io);
    expect(code).toBe(2);
    expect(t.fetchCalls).toEqual([]);
    const err = t.stderr();
    expect(err).toContain("3 problems found, nothing was applied");
    expect(err).toContain("<stdin> document 2: duplicate resource pragma/config/a (first defined in <stdin> document 1)");
    expect(err).toContain("<stdin> document 3: provider: must match");
    expect(err).toContain("<stdin> document 4: dependency cycle: pragma/config/c → pragma/config/d → pragma/config/c");
  });

  it("exits 2 for a missing file", async () => {
    const t = fakeIo();
    expect(await run(["resources", "apply", "-f", "/nonexistent/x.yaml"], t.io)).toBe(2);
    expect(t.stderr()).toMatch(/cannot read \/nonexistent\/x\.yaml \(ENOENT\)/);
  });

  it("exits 2 for commander usage errors and 0 for help", async () => {
    expect(await run(["resources", "frobnicate"], fakeIo().io)).toBe(2);
    expect(await run(["resources", "apply"], fakeIo().io)).toBe(2);
    expect(await run(["resources"], fakeIo().io)).toBe(2);
    expect(await run(["resources", "list", "-o", "xml"], fakeIo().io)).toBe(2);
    expect(await run(["--help"], fakeIo().io)).toBe(0);
    expect(await run(["help", "resources"], fakeIo().io)).toBe(0);
  });

  it("exits 2 for a malformed resource id before calling the API", async () => {
    const t = fakeIo("", { PRAGMA_API_URL: "http://127.0.0.1:9", PRAGMA_AUTH_TOKEN: "t" });
    expect(await run(["resources", "get", "not-an-id"], t.io)).toBe(2);
    expect(t.fetchCalls).toEqual([]);
  });

  it("exits 2 when no API URL is configured, saying how to configure one", async () => {
    const t = fakeIo("", { PRAGMA_AUTH_TOKEN: "t" });
    expect(await run(["resources", "list"], t.io)).toBe(2);
    expect(t.stderr()).toContain("pragma config set-context");
  });

  it("exits 1 with the login hint when there are no credentials", async () => {
    const t = fakeIo("", { PRAGMA_API_URL: "http://127.0.0.1:9" });
    expect(await run(["resources", "list"], t.io)).toBe(1);
    expect(t.stderr()).toContain("pragma auth login --api-key");
  });

  it("exits 1 naming the URL when the API cannot be reached", async () => {
    const t = fakeIo("", { PRAGMA_API_URL: "http://127.0.0.1:9", PRAGMA_AUTH_TOKEN: "t" });
    expect(await run(["resources", "list"], t.io)).toBe(1);
    expect(t.stderr()).toContain("cannot reach the API at http://127.0.0.1:9");
  });

  it("validates an org locally before sending it", async () => {
    const t = fakeIo("", { PRAGMA_API_URL: "http://127.0.0.1:9", PRAGMA_SERVER_KEY: "k" });
    const code = await run(
      ["orgs", "create", "--name", "A", "--abbreviation", "Not A Slug", "--admin-email", "nope", "--admin-name", "x", "--address", "x", "--state", "x", "--country", "x", "--pin-code", "1"],
      t.io,
    );
    expect(code).toBe(2);
    expect(t.stderr()).toMatch(/abbreviation: must be a lowercase slug/);
    expect(t.stderr()).toMatch(/admin_email: must be a valid email/);
    expect(t.fetchCalls).toEqual([]);
  });
});
