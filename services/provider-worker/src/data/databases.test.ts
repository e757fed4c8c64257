import { createHash } from "node:crypto";
import type { DatabaseCredentials } from "@pragma/contracts";
import { createLogger } from "@pragma/logger";
import { DatabasePools } from "./databases";

jest.mock("node:crypto", () => {
  const actual = jest.requireActual<typeof import("node:crypto")>("node:crypto");
  return { ...actual, createHash: jest.fn(actual.createHash) };
});

const scope = { orgId: "org_1", projectId: "prj_1" };
const creds = (over: Partial<DatabaseCredentials> = {}): DatabaseCredentials => ({
  host: "127.0.0.1",
  port: "5432",
  username: "u",
  password: "p1",
  db_name: "app",
  db_type: "postgres",
  connect_timeout_secs: 5,
  idle_timeout_secs: 30,
  max_open_connections: 2,
  max_idle_connections: 1,
  ...over,
});

// No I/O: a pg pool connects on its first query, and none is run here.
describe("DatabasePools", () => {
  let answer: DatabaseCredentials[];
  let pools: DatabasePools;
  beforeEach(() => {
    pools = new DatabasePools(async () => answer, createLogger({ service: "databases-test", level: "silent" }));
    jest.mocked(createHash).mockClear();
  });
  afterEach(() => pools.close());

  it("hashes a registration once per revision (the same credentials objects), not per request", async () => {
    answer = [creds()];
    const hash = jest.mocked(createHash);
    const first = await pools.registered(scope, "postgres", "app");
    for (let i = 0; i < 5; i++) expect((await pools.registered(scope, "postgres", "app"))?.driver).toBe(first?.driver);
    expect(hash).toHaveBeenCalledTimes(1);
    // Another target database of the same registration is a pool of its own.
    await pools.open(scope, "postgres", { database: "other" });
    expect(hash).toHaveBeenCalledTimes(2);
    expect(pools.stats()).toHaveLength(2);
  });

  it("a new answer with the same registration keeps the pool; a changed registration replaces it, and its password is scrubbed", async () => {
    answer = [creds()];
    const first = await pools.registered(scope, "postgres", "app");
    answer = [creds()]; // the cache's answer expired: new objects, same registration
    const again = await pools.registered(scope, "postgres", "app");
    expect(again?.driver).toBe(first?.driver);
    expect(again?.key).toBe(first?.key);

    answer = [creds({ password: "p2", max_open_connections: 4 })]; // a PATCH
    const patched = await pools.registered(scope, "postgres", "app");
    expect(patched?.driver).not.toBe(first?.driver);
    expect(patched?.key).not.toBe(first?.key);
    expect(pools.stats()).toHaveLength(1);
    expect(pools.secrets()).toEqual(["p1", "p2"]);
  });
});
