import { AppError } from "@pragma/errors";
import { makeTable, type Column, type Family } from "./model";
import { parseQuery, UnknownColumn } from "./query";
import { deleteSql, insertSql, selectSql, updateSql } from "./sql";
import { toParam } from "./values";

const col = (name: string, family: Family, type = family): Column => ({ name, type, family, nullable: true, default: null, primary_key: name === "id", comparable: family !== "json" });
const table = makeTable("t", false, [col("id", "integer"), col("name", "text"), col("big", "bigint"), col("at", "timestamp"), col("meta", "json", "json"), col("bin", "binary"), col("ok", "boolean")], ["id"]);

const fails = (fn: () => unknown): AppError => {
  try {
    fn();
  } catch (err) {
    return err as AppError;
  }
  throw new Error("did not throw");
};

describe("parseQuery + SQL", () => {
  it("builds SQL from schema identifiers and placeholders only", () => {
    const q = parseQuery(table, [["name", "li.50%_off"], ["id", "in.1,2"], ["big", "bw.1,9007199254740993"], ["order", "name.desc,id"], ["select", "id,name"], ["limit", "5"], ["offset", "10"]], "postgres");
    const s = selectSql("postgres", table, q);
    expect(s.text).toBe(`SELECT "id", "name" FROM "t" WHERE "name" LIKE $1 ESCAPE '!' AND "id" IN ($2, $3) AND "big" BETWEEN $4 AND $5 ORDER BY "name" DESC, "id" ASC LIMIT 5 OFFSET 10`);
    expect(s.params).toEqual(["%50!%!_off%", 1, 2, "1", "9007199254740993"]);
    const m = selectSql("mysql", table, parseQuery(table, [["name", "rli.a"], ["ok", "eq.true"]], "mysql"));
    expect(m.text).toBe("SELECT `id`, `name`, `big`, `at`, `meta`, `bin`, `ok` FROM `t` WHERE `name` LIKE ? ESCAPE '!' AND `ok` = ? LIMIT 100");
    expect(m.params).toEqual(["a%", 1]);
  });

  it("names what is wrong: unknown columns, operators, values, limits", () => {
    expect(() => parseQuery(table, [["name;drop", "eq.1"]], "postgres")).toThrow(UnknownColumn);
    expect(() => parseQuery(table, [["order", "name; DROP TABLE t"]], "postgres")).toThrow(UnknownColumn);
    expect(() => parseQuery(table, [["select", "*"]], "postgres")).toThrow(UnknownColumn);
    expect(JSON.stringify(fails(() => parseQuery(table, [["id", "eq.1 OR 1=1"]], "postgres")).detail)).toContain("id: expected an integer");
    expect(JSON.stringify(fails(() => parseQuery(table, [["id", "like.1"]], "postgres")).detail)).toContain("op one of");
    expect(JSON.stringify(fails(() => parseQuery(table, [["meta", "eq.{}"]], "postgres")).detail)).toContain("is.null");
    expect(JSON.stringify(fails(() => parseQuery(table, [["id", "li.1"]], "postgres")).detail)).toContain("text columns only");
    expect(JSON.stringify(fails(() => parseQuery(table, [["limit", "1001"]], "postgres")).detail)).toContain("between 0 and 1000");
    expect(JSON.stringify(fails(() => parseQuery(table, [["at", "bw.2024-01-01T00:00:00.5Z.2025"]], "postgres")).detail)).toContain("two bounds");
  });

  it("writes: DEFAULT for columns a row leaves out, json cast, filters on update/delete", () => {
    const rows = [new Map<string, unknown>([["id", 1], ["meta", "{}"]]), new Map<string, unknown>([["id", 2]])];
    const ins = insertSql("postgres", table, [table.byName.get("id")!, table.byName.get("meta")!], rows, null);
    expect(ins.text).toBe('INSERT INTO "t" ("id", "meta") VALUES ($1, $2::json), ($3, DEFAULT)');
    const q = parseQuery(table, [["id", "eq.1"]], "mysql");
    expect(updateSql("mysql", table, [[table.byName.get("name")!, "x"]], q).text).toBe("UPDATE `t` SET `name` = ? WHERE `id` = ?");
    expect(deleteSql("mysql", table, q)).toEqual({ text: "DELETE FROM `t` WHERE `id` = ?", params: [1] });
  });
});

describe("toParam", () => {
  it("keeps bigints exact, checks base64, writes MySQL timestamps as UTC", () => {
    const c = (n: string) => table.byName.get(n)!;
    expect(toParam(c("big"), "9007199254740993", "postgres", [])).toBe("9007199254740993");
    expect(toParam(c("big"), 5, "postgres", [])).toBe("5");
    expect(() => toParam(c("big"), 1.5, "postgres", [])).toThrow(AppError);
    expect(toParam(c("bin"), "AAEC/w==", "mysql", [])).toEqual(Buffer.from([0, 1, 2, 255]));
    expect(() => toParam(c("bin"), "not base64!", "mysql", [])).toThrow(AppError);
    expect(toParam(c("at"), "2024-01-02T05:04:05.678+02:00", "mysql", [])).toBe("2024-01-02 03:04:05.678");
    expect(toParam(c("ok"), "false", "postgres", [])).toBe(false);
    expect(toParam(c("meta"), { a: [1] }, "postgres", [])).toBe('{"a":[1]}');
    expect(() => toParam(c("name"), { a: 1 }, "postgres", [])).toThrow(AppError);
  });
});
