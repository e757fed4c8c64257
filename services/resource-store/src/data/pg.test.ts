import { inline } from "./pg";

describe("inline", () => {
  it("writes each kind of value as a literal, quotes and backslashes escaped", () => {
    const sql = inline("SELECT $1, $2, $3, $4, $5, $6, $7, $8, $10", ["it's", null, true, 42, new Date("2026-01-02T03:04:05.678Z"), ["a", "b'c"], [], "back\\slash", undefined, "ten"]);
    // pg's escapeLiteral writes a backslash-bearing string as " E'…'" (leading space included).
    expect(sql).toBe("SELECT 'it''s', NULL, TRUE, 42, '2026-01-02T03:04:05.678Z'::timestamptz, ARRAY['a','b''c']::text[], '{}'::text[],  E'back\\\\slash', 'ten'");
  });

  it("does not re-read placeholders that a value contains", () => {
    expect(inline("SELECT $1, $2", ["$2", "x"])).toBe("SELECT '$2', 'x'");
  });

  it("refuses values it cannot write safely and missing parameters", () => {
    expect(() => inline("SELECT $1", [{ a: 1 }])).toThrow(/unsupported/);
    expect(() => inline("SELECT $1", [Number.NaN])).toThrow(/unsupported/);
    expect(() => inline("SELECT $2", ["x"])).toThrow(/no value for \$2/);
  });
});
