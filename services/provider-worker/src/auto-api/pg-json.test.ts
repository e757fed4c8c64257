import { PG_TYPES } from "./executor";
import { pgRowsJson, type RawResult } from "./pg-json";
import { fromRow } from "./values";

/** What the object path answered for the same server text: the driver's parsers, then fromRow, then JSON.stringify. */
function objectPath(result: RawResult): string {
  return JSON.stringify(
    result.rows.map((row) => {
      const o: Record<string, unknown> = {};
      result.fields.forEach((f, i) => {
        const text = row[i];
        o[f.name] = text === null || text === undefined ? null : PG_TYPES.getTypeParser(f.dataTypeID)(text);
      });
      return fromRow(o, new Map(), "postgres");
    }),
  );
}

const one = (oid: number, texts: (string | null)[]): RawResult => ({ fields: [{ name: "v", dataTypeID: oid }], rows: texts.map((t) => [t]) });

// Server text as PostgreSQL sends it (DateStyle ISO, TimeZone UTC, bytea_output hex), per type OID.
const CASES: [string, number, (string | null)[]][] = [
  ["int2/int4/oid", 23, ["0", "-5", "2147483647", null]],
  ["int2", 21, ["-32768"]],
  ["oid", 26, ["4294967295"]],
  ["int8 past 2^53", 20, ["9007199254740993", "-9223372036854775808", "0"]],
  ["numeric", 1700, ["1.50", "-0.001", "NaN", "Infinity", "12345678901234567890.123456789"]],
  ["float8", 701, ["1.5", "-0", "0.1", "1e+30", "1.5e-07", "NaN", "Infinity", "-Infinity", "-1.7976931348623157e+308"]],
  ["float4", 700, ["3.4028235e+38", "NaN"]],
  ["bool", 16, ["t", "f"]],
  ["bytea", 17, ["\\x", "\\x00ff10", `\\x${"ab".repeat(100)}`]],
  ["timestamp", 1114, ["2024-01-02 03:04:05", "2024-01-02 03:04:05.5", "2024-01-02 03:04:05.123456", "2024-01-02 03:04:05.999999", "0099-01-01 00:00:00", "infinity", "-infinity", "2024-01-02 03:04:05 BC"]],
  ["timestamptz", 1184, ["2024-01-02 03:04:05+00", "2024-01-02 03:04:05.678+02", "2024-01-02 03:04:05.1-03:30", "2024-01-02 03:04:05.000001+00", "infinity", "0044-03-15 12:00:00+00 BC"]],
  ["date", 1082, ["2024-01-02", "infinity", "0044-03-15 BC"]],
  ["time/timetz", 1083, ["03:04:05", "03:04:05.123456"]],
  ["timetz", 1266, ["03:04:05+02"]],
  ["uuid", 2950, ["0b7c7a55-0b3a-4a57-9c5e-3e2f4b8f1a2c"]],
  ["text", 25, ['a"b\\c\n\t\u2028 é 😀 </script>', "", "\u0000\u001f"]],
  ["varchar/bpchar/name", 1043, ["x"]],
  ["bpchar", 1042, ["ab  "]],
  ["json", 114, ['{"b":1,  "a":[1,2], "a":3}', "12345678901234567890", '"s"']],
  ["int8[]", 1016, ["{1,9007199254740993,NULL}"]],
  ["int4[]", 1007, ["{1,2,NULL}"]],
  ["text[]", 1009, ['{"a b",c,"q\\"d"}']],
  ["timestamptz[]", 1185, ['{"2024-01-02 03:04:05+00"}']],
  ["interval", 1186, ["1 day 02:00:00"]],
  ["point", 600, ["(1,2)"]],
  ["money", 790, ["$1,000.00"]],
  ["an unknown type (an enum's OID)", 987654, ["red"]],
];

describe("pgRowsJson writes what the object path wrote", () => {
  it.each(CASES)("%s", (_name, oid, texts) => {
    const r = one(oid, texts);
    expect(pgRowsJson(r, PG_TYPES.getTypeParser)).toBe(objectPath(r));
  });

  it("jsonb: the server's canonical text, the same JSON value", () => {
    const r = one(3802, ['{"a": [1, "two"], "b": {"c": null}}', "[]", '"x"', null]);
    const fast = pgRowsJson(r, PG_TYPES.getTypeParser);
    expect(JSON.parse(fast)).toEqual(JSON.parse(objectPath(r)));
    expect(fast).toBe('[{"v":{"a": [1, "two"], "b": {"c": null}}},{"v":[]},{"v":"x"},{"v":null}]');
  });

  it("rows of several columns keep the select's order; names are escaped; no rows is []", () => {
    const r: RawResult = {
      fields: [
        { name: "id", dataTypeID: 23 },
        { name: 'we"ird', dataTypeID: 25 },
        { name: "big", dataTypeID: 20 },
        { name: "at", dataTypeID: 1184 },
      ],
      rows: [
        ["1", "a", "9007199254740993", "2024-05-05 05:05:05+00"],
        ["2", null, null, null],
      ],
    };
    expect(pgRowsJson(r, PG_TYPES.getTypeParser)).toBe(objectPath(r));
    expect(JSON.parse(pgRowsJson(r, PG_TYPES.getTypeParser))[0]).toEqual({ id: 1, 'we"ird': "a", big: "9007199254740993", at: "2024-05-05T05:05:05.000Z" });
    expect(pgRowsJson({ fields: r.fields, rows: [] }, PG_TYPES.getTypeParser)).toBe("[]");
  });

  it("a driver told to parse int8 as numbers is followed, not overruled", () => {
    const parser = (oid: number) => (oid === 20 ? (t: string) => Number(t) : PG_TYPES.getTypeParser(oid));
    expect(pgRowsJson(one(20, ["42"]), parser)).toBe('[{"v":42}]');
  });
});
