import type { DatabaseCredentials } from "@pragma/contracts";
import { CredentialsCache } from "./credentials-cache";

const A = { orgId: "org1", projectId: "prj_a" };
const B = { orgId: "org1", projectId: "prj_b" };

function creds(password: string): DatabaseCredentials[] {
  return [{ password } as unknown as DatabaseCredentials];
}

/** A registry stand-in: counts calls, answers with the current password, or holds the answer until released. */
function registry() {
  let password = "one";
  let held: (() => void)[] | undefined;
  const calls: string[] = [];
  const source = async (scope: { orgId: string; projectId: string }) => {
    calls.push(scope.projectId);
    const answer = password;
    if (held) await new Promise<void>((r) => held!.push(r));
    if (answer === "fail") throw new Error("registry unavailable");
    return creds(answer);
  };
  return {
    source,
    calls,
    setPassword: (p: string) => (password = p),
    hold: () => (held = []),
    release: () => {
      const waiting = held ?? [];
      held = undefined;
      waiting.forEach((r) => r());
    },
  };
}

const pw = async (p: Promise<DatabaseCredentials[]>) => (await p)[0]!.password;

describe("CredentialsCache", () => {
  let clock = 0;
  let live = true;
  const make = (reg: ReturnType<typeof registry>, ttlMs = 5000) => new CredentialsCache(reg.source, { ttlMs, live: () => live, now: () => clock });

  beforeEach(() => {
    clock = 1_000;
    live = true;
  });

  it("reuses a project's answer within the TTL, per project, and asks again after it", async () => {
    const reg = registry();
    const cache = make(reg);
    expect(await pw(cache.get(A))).toBe("one");
    expect(await pw(cache.get(A))).toBe("one");
    await cache.get(B);
    expect(reg.calls).toEqual(["prj_a", "prj_b"]);
    reg.setPassword("two");
    clock += 4_999;
    expect(await pw(cache.get(A))).toBe("one");
    clock += 1;
    expect(await pw(cache.get(A))).toBe("two");
    expect(reg.calls).toEqual(["prj_a", "prj_b", "prj_a"]);
  });

  it("asks again at once after the project's update notification, and only for that project", async () => {
    const reg = registry();
    const cache = make(reg);
    await cache.get(A);
    await cache.get(B);
    reg.setPassword("two");
    cache.drop(A.orgId, A.projectId);
    expect(await pw(cache.get(A))).toBe("two");
    expect(await pw(cache.get(B))).toBe("one");
    expect(reg.calls).toEqual(["prj_a", "prj_b", "prj_a"]);
  });

  it("concurrent opens share one request", async () => {
    const reg = registry();
    const cache = make(reg);
    reg.hold();
    const both = Promise.all([cache.get(A), cache.get(A)]);
    reg.release();
    expect((await both).map((c) => c[0]!.password)).toEqual(["one", "one"]);
    expect(reg.calls).toEqual(["prj_a"]);
  });

  it("does not keep an answer that was being read when the project changed", async () => {
    const reg = registry();
    const cache = make(reg);
    reg.hold();
    const stale = cache.get(A);
    reg.setPassword("two");
    cache.drop(A.orgId, A.projectId);
    // A caller after the notification does not join the request that began before it.
    const fresh = cache.get(A);
    reg.release();
    expect(await pw(stale)).toBe("one");
    expect(await pw(fresh)).toBe("two");
    expect(await pw(cache.get(A))).toBe("two");
    expect(reg.calls).toEqual(["prj_a", "prj_a"]);
  });

  it("does not keep an answer read across another project's change either (one epoch for all)", async () => {
    const reg = registry();
    const cache = make(reg);
    reg.hold();
    const pending = cache.get(A);
    cache.drop(B.orgId, B.projectId);
    reg.release();
    await pending;
    await cache.get(A);
    expect(reg.calls).toEqual(["prj_a", "prj_a"]);
  });

  it("never reuses a failed lookup", async () => {
    const reg = registry();
    const cache = make(reg);
    reg.setPassword("fail");
    await expect(cache.get(A)).rejects.toThrow("registry unavailable");
    reg.setPassword("one");
    expect(await pw(cache.get(A))).toBe("one");
    expect(reg.calls).toEqual(["prj_a", "prj_a"]);
  });

  it("clear() (a new broker connection) forgets everything", async () => {
    const reg = registry();
    const cache = make(reg);
    await cache.get(A);
    await cache.get(B);
    cache.clear();
    await cache.get(A);
    await cache.get(B);
    expect(reg.calls).toEqual(["prj_a", "prj_b", "prj_a", "prj_b"]);
  });

  it("serves and stores nothing while notifications cannot arrive, or with a TTL of 0", async () => {
    const reg = registry();
    const cache = make(reg);
    live = false;
    await cache.get(A);
    await cache.get(A);
    live = true;
    // Nothing was kept meanwhile: the first get once live asks the registry again.
    await cache.get(A);
    const off = make(reg, 0);
    await off.get(A);
    await off.get(A);
    expect(reg.calls).toEqual(["prj_a", "prj_a", "prj_a", "prj_a", "prj_a"]);
  });
});
