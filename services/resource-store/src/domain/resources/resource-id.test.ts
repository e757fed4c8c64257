import { normalizeResourceId } from "./resource-id";

describe("normalizeResourceId", () => {
  it.each([
    ["resource:postgres_database_my-db", "resource:postgres_database_my-db"],
    ["resource%3Apostgres_database_my-db", "resource:postgres_database_my-db"],
    ["postgres/database/my-db", "resource:postgres_database_my-db"],
    ["postgres%2Fdatabase%2Fmy-db", "resource:postgres_database_my-db"],
    ["postgres:database:my-db", "resource:postgres_database_my-db"],
    ["pragma/config/a_b.c", "resource:pragma_config_a_b.c"],
  ])("%s -> %s", (raw, expected) => {
    expect(normalizeResourceId(raw)).toBe(expected);
  });

  it("rejects what is no id form", () => {
    expect(normalizeResourceId("just-a-name")).toBeNull();
    expect(normalizeResourceId("Bad/type/name")).toBeNull();
  });
});
