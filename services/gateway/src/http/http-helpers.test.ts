import { z } from "zod";
import { acceptOrMintRequestId } from "./request-id";
import { parseWith } from "./validate";
import { templateRegex, toExpressPath } from "./route";
import { serverKeyMatches } from "../auth/server-key";
import { roleAllows } from "../auth/roles";
import { TtlCache } from "../domain/ttl-cache";

describe("request ids", () => {
  it("accepts well-formed ids, mints req_ ids otherwise", () => {
    expect(acceptOrMintRequestId("req_01HZZZZZZZZZZZZZZZZZZZZZZZ")).toBe("req_01HZZZZZZZZZZZZZZZZZZZZZZZ");
    for (const bad of [undefined, "", "short", "has space in it", "a".repeat(129), "newline\ninjected-header", "{json:1}"]) {
      expect(acceptOrMintRequestId(bad)).toMatch(/^req_[0-9A-Z]{26}$/);
    }
  });
});

describe("validation issues", () => {
  const schema = z.object({ provider: z.string(), nested: z.object({ n: z.number().int() }), tags: z.array(z.string()).optional() });
  it("renders pragma's [{loc, msg, type}] with missing fields as 'field required'", () => {
    try {
      parseWith(schema, { nested: { n: "x" }, tags: [1] }, "body");
      throw new Error("should have thrown");
    } catch (err) {
      const detail = (err as { detail: unknown }).detail;
      expect(detail).toEqual(
        expect.arrayContaining([
          { loc: ["body", "provider"], msg: "field required", type: "missing" },
          expect.objectContaining({ loc: ["body", "nested", "n"], type: "number_type" }),
          expect.objectContaining({ loc: ["body", "tags", 0], type: "string_type" }),
        ]),
      );
    }
  });
  it("never echoes the input value", () => {
    try {
      parseWith(z.object({ password: z.number() }), { password: "hunter2-secret" }, "body");
    } catch (err) {
      expect(JSON.stringify((err as { detail: unknown }).detail)).not.toContain("hunter2");
    }
  });
});

describe("route paths", () => {
  it("converts OpenAPI templates for express and matches concrete paths", () => {
    expect(toExpressPath("/orgs/{org_id}/projects/{project_id}")).toBe("/orgs/:org_id/projects/:project_id");
    const re = templateRegex("/resources/{resource_id}");
    expect(re.test("/resources/resource%3Aa_b_c")).toBe(true);
    expect(re.test("/resources/a/b")).toBe(false);
    expect(templateRegex("/resources/").test("/resources")).toBe(true);
  });
});

describe("server key and roles", () => {
  it("compares keys exactly", () => {
    expect(serverKeyMatches("secret-key-123456", "secret-key-123456")).toBe(true);
    expect(serverKeyMatches("secret-key-123456", "secret-key-12345")).toBe(false);
    expect(serverKeyMatches("secret-key-123456", undefined)).toBe(false);
    expect(serverKeyMatches("secret-key-123456", "")).toBe(false);
  });
  it("nests roles member < operator < admin", () => {
    expect(roleAllows("member", "member")).toBe(true);
    expect(roleAllows("member", "operator")).toBe(false);
    expect(roleAllows("operator", "member")).toBe(true);
    expect(roleAllows("operator", "admin")).toBe(false);
    expect(roleAllows("admin", "operator")).toBe(true);
  });
});

describe("TtlCache", () => {
  it("expires entries and shares concurrent loads", async () => {
    let t = 0;
    const c = new TtlCache<number>(1000, 10, () => t);
    let loads = 0;
    const load = async () => ++loads;
    const [a, b] = await Promise.all([c.getOrLoad("k", load), c.getOrLoad("k", load)]);
    expect([a, b, loads]).toEqual([1, 1, 1]);
    t = 999;
    expect(c.get("k")).toBe(1);
    t = 1000;
    expect(c.get("k")).toBeUndefined();
  });
  it("does not cache failures", async () => {
    const c = new TtlCache<number>(1000);
    await expect(c.getOrLoad("k", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await c.getOrLoad("k", async () => 7)).toBe(7);
  });
});
