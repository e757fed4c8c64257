import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * Issue 21.1: one writer of resource state. Every statement that writes resources or
 * outbox events, or stores a dead-letter entry with its resource, is a StoreTx method
 * (data/scoped-tx.ts, data/create-only-tx.ts), called by the lifecycle and the use cases
 * in store transactions; nothing else in src writes them. The relay's marks and pruning
 * of published events (data/outbox.repository.ts) write delivery state, not resource state,
 * and the operator's deletes of dead-letter entries (data/dead-letter.repository.ts) none.
 */
const anyWrite = (table: string) => new RegExp(`\\b(INSERT\\s+INTO|UPDATE|DELETE\\s+FROM)\\s+"?${table}\\b`, "i");
const WRITERS: [string, RegExp, string[]][] = [
  ["resources", anyWrite("resources"), ["data/scoped-tx.ts", "data/create-only-tx.ts"]],
  ["outbox_events", anyWrite("outbox_events"), ["data/scoped-tx.ts", "data/create-only-tx.ts", "data/outbox.repository.ts"]],
  // Stored by the ingest's store transaction, which fails the resource with it.
  ["dead-letter entries (insert)", /\bINSERT\s+INTO\s+"?dead_letters\b/i, ["data/scoped-tx.ts"]],
  // The one history INSERT (historyInsertSql), used only by StoreTx.insertHistory (scoped-tx.ts, create-only-tx.ts), which only the lifecycle calls.
  ["resource_history", anyWrite("resource_history"), ["data/resource-history.repository.ts"]],
  // Observation cycles: the result's advance and the sweeper's restart, both StoreTx methods.
  ["resource_observations", anyWrite("resource_observations"), ["data/scoped-tx.ts"]],
  ["resource_history (its INSERT's callers)", /\bhistoryInsert(Sql)?\(/, ["data/resource-history.repository.ts", "data/scoped-tx.ts", "data/create-only-tx.ts"]],
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "generated" ? [] : sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [p] : [];
  });
}

describe("one writer of resource state", () => {
  const root = __dirname;
  const files = sources(root).map((p) => ({ path: relative(root, p), text: readFileSync(p, "utf8") }));

  it.each(WRITERS)("only the store transactions write %s", (_what, writes, allowed) => {
    const writers = files.filter((f) => writes.test(f.text)).map((f) => f.path);
    expect(writers.filter((p) => !allowed.includes(p))).toEqual([]);
  });
});
