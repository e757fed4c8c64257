import { extractReferences, idOf, keyOf, parseInterpolation, parseSlashKey } from "./references";

describe("extractReferences", () => {
  it("finds interpolations inside longer strings, several per string, at any depth and in arrays", () => {
    const config = {
      url: "postgres://${pg/database/main.outputs.host}:${pg/database/main.outputs.port}/app",
      nested: { env: [{ name: "KEY", value: "${pragma/config/a.outputs.key}" }] },
      plain: "no refs here, ${not-a-ref} neither",
    };
    const { references, problems } = extractReferences(config);
    expect(problems).toEqual([]);
    expect(references).toEqual([
      { provider: "pg", resource: "database", name: "main", field: "host", path: "config.url" },
      { provider: "pg", resource: "database", name: "main", field: "port", path: "config.url" },
      { provider: "pragma", resource: "config", name: "a", field: "key", path: "config.nested.env[0].value" },
    ]);
  });

  it("finds object references, bare and wrapped in $ref, and does not descend into them", () => {
    const config = {
      host: { provider: "pg", resource: "database", name: "main", field: "outputs.host" },
      deep: { list: [{ $ref: { provider: "s3", resource: "bucket", name: "logs", field: "arn" } }] },
    };
    const { references } = extractReferences(config);
    expect(references.map((r) => [keyOf(r), r.field, r.path])).toEqual([
      ["pg/database/main", "outputs.host", "config.host"],
      ["s3/bucket/logs", "arn", "config.deep.list[0]"],
    ]);
  });

  it("keeps dots in names and dotted field paths apart", () => {
    expect(parseInterpolation("pragma/config/app.v2.outputs.conn.host")).toEqual({
      provider: "pragma",
      resource: "config",
      name: "app.v2",
      field: "conn.host",
    });
  });

  it("reports malformed references instead of letting them reach a provider as text", () => {
    const { references, problems } = extractReferences({
      a: "${pragma/config.outputs.key}",
      b: "${pragma/config/a.outputs.}",
      c: { $ref: { provider: "pragma", name: "a" } },
      d: { provider: "Bad!", resource: "config", name: "a", field: "x" },
    });
    expect(references).toEqual([]);
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^config\.a: malformed reference/);
    expect(problems[2]).toMatch(/^config\.c: malformed \$ref/);
    expect(problems[3]).toMatch(/invalid resource "Bad!\/config\/a"/);
  });

  it("leaves an object with provider/resource/name but no field alone (it is data, not a reference)", () => {
    expect(extractReferences({ target: { provider: "p", resource: "r", name: "n" } }).references).toEqual([]);
  });
});

describe("keys and ids", () => {
  it("parses provider/resource/name and builds the canonical id without splitting names", () => {
    const key = parseSlashKey("postgres/database/my_db")!;
    expect(idOf(key)).toBe("resource:postgres_database_my_db");
    expect(parseSlashKey("a/b")).toBeUndefined();
    expect(parseSlashKey("A/b/c")).toBeUndefined();
  });
});
