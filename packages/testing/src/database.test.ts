import { testDatabaseName } from "./database";
import { globEscape, testRedisPrefix } from "./redis-keys";

describe("testDatabaseName", () => {
  it("is t_<label>_<random>, lowercase and unquoted-safe", () => {
    expect(testDatabaseName("Resource Store!")).toMatch(/^t_resource_store_[0-9a-f]{12}$/);
    expect(testDatabaseName()).toMatch(/^t_test_[0-9a-f]{12}$/);
  });

  it("stays within PostgreSQL's 63-byte identifier limit", () => {
    expect(testDatabaseName("x".repeat(200)).length).toBeLessThanOrEqual(63);
  });

  it("differs per call", () => {
    expect(testDatabaseName("a")).not.toBe(testDatabaseName("a"));
  });
});

describe("redis prefixes", () => {
  it("look like t:<random>:", () => {
    expect(testRedisPrefix()).toMatch(/^t:[0-9a-f]{16}:$/);
  });

  it("are matched literally by SCAN", () => {
    expect(globEscape("a*b?[c]\\")).toBe("a\\*b\\?\\[c\\]\\\\");
  });
});
