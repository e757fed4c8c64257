import { canonicalResourceId, resourcePath } from "./resource-id";

describe("resource ids", () => {
  it("accepts every documented form and URL-encodes the canonical id", () => {
    expect(canonicalResourceId("postgres/database/my-db")).toBe("resource:postgres_database_my-db");
    expect(canonicalResourceId("postgres:database:my-db")).toBe("resource:postgres_database_my-db");
    expect(canonicalResourceId("resource:postgres_database_my-db")).toBe("resource:postgres_database_my-db");
    expect(resourcePath("postgres/database/my-db")).toBe("resource%3Apostgres_database_my-db");
  });

  it("rejects anything else as a usage error", () => {
    for (const bad of ["a/b", "resource:", "a:b:c:d", "Bad/x/y"]) {
      expect(() => canonicalResourceId(bad)).toThrow(expect.objectContaining({ exitCode: 2 }));
    }
  });
});
