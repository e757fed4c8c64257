import type { Command } from "commander";
import YAML from "yaml";
import type { ApiClient } from "../client";
import { readInput } from "../documents";
import { UsageError } from "../errors";
import { render, renderKeyValues, renderTable, type Column } from "../output";
import { collect, formatOf, optionsOf, sessionFor, type CommandContext } from "./shared";

interface Database {
  db_type: string;
  db_name: string;
}

interface TableInfo {
  name: string;
  view?: boolean;
  columns: { name: string; type: string; nullable: boolean; default: string | null; primary_key: boolean }[];
}

/**
 * `DB` is `name` or `type/name`; `DB/TABLE` adds the table. A bare name is looked up among
 * the project's databases, and is a usage error when both engines have one of that name.
 */
export async function resolveTarget(client: ApiClient, spec: string, withTable: boolean): Promise<{ base: string; table?: string }> {
  const parts = spec.split("/");
  const want = withTable ? [2, 3] : [1, 2];
  if (!want.includes(parts.length) || parts.some((p) => p === "")) {
    throw new UsageError(`cannot read "${spec}"`, withTable ? "give DB/TABLE or TYPE/DB/TABLE (e.g. shop/orders, postgres/shop/orders)" : "give DB or TYPE/DB (e.g. shop, mysql/shop)");
  }
  const table = withTable ? parts.pop() : undefined;
  const [given, name] = parts.length === 2 ? parts : [undefined, parts[0]!];
  let type = given;
  if (!type) {
    const dbs = (await client.request<Database[]>("GET", "/auto/v1/")).body;
    const matches = dbs.filter((d) => d.db_name === name);
    if (matches.length === 0) throw new UsageError(`the project has no database named "${name}"`, `registered: ${dbs.map((d) => `${d.db_type}/${d.db_name}`).join(", ") || "none"}`);
    if (matches.length > 1) throw new UsageError(`"${name}" names a database of each engine`, `say which: ${matches.map((d) => `${d.db_type}/${d.db_name}`).join(" or ")}`);
    type = matches[0]!.db_type;
  }
  const base = `/auto/v1/${encodeURIComponent(type)}/${encodeURIComponent(name!)}`;
  return table === undefined ? { base } : { base, table };
}

/** `--where col=op.value` → the query pair col=op.value (the gateway checks operator and value). */
function filters(where: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const w of where) {
    const eq = w.indexOf("=");
    if (eq <= 0) throw new UsageError(`--where ${w}: expected column=op.value`, "e.g. --where status=eq.paid --where total=gt.100 --where note=is.null");
    (out[w.slice(0, eq)] ??= []).push(w.slice(eq + 1));
  }
  return out;
}

function sets(set: string[]): string[] {
  return set.map((s) => {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new UsageError(`--set ${s}: expected column=value`);
    return `${s.slice(0, eq)}.${s.slice(eq + 1)}`;
  });
}

/** Rows from a JSON or YAML file (an array of objects, or one object). */
export function parseRows(text: string, file: string): Record<string, unknown>[] {
  let data: unknown;
  try {
    data = YAML.parse(text, { intAsBigInt: false });
  } catch (err) {
    throw new UsageError(`${file}: not JSON or YAML (${(err as Error).message.split("\n")[0]})`);
  }
  const rows = Array.isArray(data) ? data : [data];
  rows.forEach((r, i) => {
    if (typeof r !== "object" || r === null || Array.isArray(r)) throw new UsageError(`${file}: row ${i} is not an object`, "give an array of objects (or one object)");
  });
  return rows as Record<string, unknown>[];
}

function rowColumns(rows: Record<string, unknown>[]): Column<Record<string, unknown>>[] {
  const names = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return names.map((n) => ({ header: n, value: (r) => r[n] }));
}

export function registerData(program: Command, ctx: CommandContext): void {
  const data = program.command("data").description("The Auto API: rows of the project's registered databases");
  const write = (s: string) => ctx.io.stdout.write(s);

  data
    .command("dbs")
    .description("The project's registered databases")
    .action(async (_o: unknown, cmd: Command) => {
      const res = await sessionFor(ctx, cmd).client().request<Database[]>("GET", "/auto/v1/");
      write(render(res.body, formatOf(cmd), (rows) => (rows.length ? renderTable(rows, [{ header: "type", value: (d) => d.db_type }, { header: "name", value: (d) => d.db_name }]) : "No databases\n")));
    });

  data
    .command("tables <db>")
    .description("Tables and views of a database (DB or TYPE/DB); -o json/yaml for every column")
    .action(async (db: string, _o: unknown, cmd: Command) => {
      const client = sessionFor(ctx, cmd).client();
      const { base } = await resolveTarget(client, db, false);
      const res = await client.request<{ tables: TableInfo[] }>("GET", base);
      write(
        render(res.body, formatOf(cmd), (b) =>
          b.tables.length
            ? renderTable(b.tables, [
                { header: "table", value: (t) => t.name },
                { header: "kind", value: (t) => (t.view ? "view" : "table") },
                { header: "primary key", value: (t) => t.columns.filter((c) => c.primary_key).map((c) => c.name) },
                { header: "columns", value: (t) => t.columns.map((c) => `${c.name}:${c.type}${c.nullable ? "?" : ""}`).join(" ") },
              ])
            : "No tables\n",
        ),
      );
    });

  data
    .command("get <target> [key]")
    .description("Rows of DB/TABLE matching every --where, or the one row with primary key KEY")
    .option("-w, --where <filter>", "column=op.value; op: eq ne lt gt le ge bw in nin li rli is (repeatable, ANDed)", collect, [])
    .option("--select <columns>", "columns to return, comma-separated")
    .option("--order <order>", "e.g. created.desc,id.asc")
    .option("--limit <n>", "rows (default 100, at most 1000)")
    .option("--offset <n>", "rows to skip")
    .option("--count", "also print how many rows match (X-Total-Count), to stderr")
    .action(async (target: string, key: string | undefined, _o: unknown, cmd: Command) => {
      const o = optionsOf<{ where: string[]; select?: string; order?: string; limit?: string; offset?: string; count?: boolean }>(cmd);
      const client = sessionFor(ctx, cmd).client();
      const { base, table } = await resolveTarget(client, target, true);
      const path = `${base}/${encodeURIComponent(table!)}${key !== undefined ? `/${encodeURIComponent(key)}` : ""}`;
      const res = await client.request<Record<string, unknown>[] | Record<string, unknown>>("GET", path, {
        query: { ...filters(o.where), select: o.select, order: o.order, limit: o.limit, offset: o.offset, count: o.count ? "exact" : undefined },
      });
      const format = formatOf(cmd);
      if (key !== undefined) {
        write(render(res.body, format, (r) => renderKeyValues(Object.entries(r as Record<string, unknown>))));
        return;
      }
      const rows = res.body as Record<string, unknown>[];
      write(render(rows, format, (r) => (r.length ? renderTable(r, rowColumns(r)) : "No rows\n")));
      const total = res.headers.get("x-total-count");
      if (o.count && total !== null) ctx.io.stderr.write(`${total} rows match\n`);
    });

  data
    .command("insert <target>")
    .description("Insert the rows of a JSON or YAML file into DB/TABLE, all or none")
    .requiredOption("-f, --file <file>", "rows: an array of objects, or one object (`-` for stdin)")
    .option("--return-rows", "print the inserted rows (PostgreSQL, MariaDB)")
    .action(async (target: string, _o: unknown, cmd: Command) => {
      const o = optionsOf<{ file: string; returnRows?: boolean }>(cmd);
      const rows = parseRows(await readInput(ctx.io, o.file), o.file === "-" ? "<stdin>" : o.file);
      const client = sessionFor(ctx, cmd).client();
      const { base, table } = await resolveTarget(client, target, true);
      const res = await client.request<unknown>("POST", `${base}/${encodeURIComponent(table!)}`, { body: rows, query: { return: o.returnRows ? "rows" : undefined } });
      const format = formatOf(cmd);
      if (o.returnRows) write(render(res.body as Record<string, unknown>[], format, (r) => renderTable(r, rowColumns(r))));
      else write(render(res.body as { rows_affected: number }, format, (b) => `Inserted ${b.rows_affected} row${b.rows_affected === 1 ? "" : "s"}\n`));
    });

  data
    .command("update <target>")
    .description("Set columns on the rows of DB/TABLE matching every --where")
    .option("-w, --where <filter>", "column=op.value (repeatable, ANDed)", collect, [])
    .option("--set <assignment>", "column=value (repeatable)", collect, [])
    .option("-f, --file <file>", "an object of columns to set, JSON or YAML (`-` for stdin)")
    .option("--all", "allow an update without --where (every row)")
    .action(async (target: string, _o: unknown, cmd: Command) => {
      const o = optionsOf<{ where: string[]; set: string[]; file?: string; all?: boolean }>(cmd);
      if (!o.where.length && !o.all) throw new UsageError("update without --where would touch every row", "add --where, or --all if you mean it");
      let body: Record<string, unknown> | undefined;
      if (o.file) {
        const rows = parseRows(await readInput(ctx.io, o.file), o.file === "-" ? "<stdin>" : o.file);
        if (rows.length !== 1) throw new UsageError(`${o.file}: expected one object of columns to set`);
        body = rows[0];
      }
      if (!body && !o.set.length) throw new UsageError("nothing to set", "give --set column=value or -f values.yaml");
      const client = sessionFor(ctx, cmd).client();
      const { base, table } = await resolveTarget(client, target, true);
      const res = await client.request<{ rows_affected: number }>("PUT", `${base}/${encodeURIComponent(table!)}`, {
        query: { ...filters(o.where), set: o.set.length ? sets(o.set) : undefined, all: o.all ? "true" : undefined },
        ...(body ? { body } : {}),
      });
      write(render(res.body, formatOf(cmd), (b) => `Updated ${b.rows_affected} row${b.rows_affected === 1 ? "" : "s"}\n`));
    });

  data
    .command("delete <target>")
    .description("Delete the rows of DB/TABLE matching every --where")
    .option("-w, --where <filter>", "column=op.value (repeatable, ANDed)", collect, [])
    .option("--all", "allow a delete without --where (every row)")
    .action(async (target: string, _o: unknown, cmd: Command) => {
      const o = optionsOf<{ where: string[]; all?: boolean }>(cmd);
      if (!o.where.length && !o.all) throw new UsageError("delete without --where would remove every row", "add --where, or --all if you mean it");
      const client = sessionFor(ctx, cmd).client();
      const { base, table } = await resolveTarget(client, target, true);
      const res = await client.request<{ rows_affected: number }>("DELETE", `${base}/${encodeURIComponent(table!)}`, { query: { ...filters(o.where), all: o.all ? "true" : undefined } });
      write(render(res.body, formatOf(cmd), (b) => `Deleted ${b.rows_affected} row${b.rows_affected === 1 ? "" : "s"}\n`));
    });
}
