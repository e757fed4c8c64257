import { createTestDatabase } from "@pragma/testing";
import { createPool, execute, roundTrip, withConnection, type Pool, type PoolClient } from "../src/data/pg";

/**
 * Batched statements run as server-side prepared statements (pg.ts `execute`): prepared
 * once per connection, at the front of the round trip that first runs them, with literals
 * that survive quoting; each caller's results by position whatever was prepared; and a
 * connection whose round trip with a PREPARE failed is discarded rather than trusted.
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: Pool;
beforeAll(async () => {
  db = await createTestDatabase("store-prepared");
  pool = createPool(db.databaseUrl, "public", 2);
});
afterAll(async () => {
  await pool?.end();
  await db?.dispose();
});

const ECHO = { name: "test.echo", text: "SELECT $1::text AS s, $2::jsonb AS j, $3::text[] AS a, $4::timestamptz AS t" };
const prepared = async (client: PoolClient) => (await client.query("SELECT name FROM pg_prepared_statements ORDER BY name")).rows.map((r) => r.name);
const pidOf = async (client: PoolClient) => (await client.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;

/** Records what each round trip on `client` sends. */
function recording(client: PoolClient): string[] {
  const sent: string[] = [];
  const query = client.query.bind(client);
  (client as unknown as { query: unknown }).query = (q: unknown, ...rest: unknown[]) => {
    sent.push(typeof q === "string" ? q : (q as { text: string }).text);
    return (query as (...a: unknown[]) => unknown)(q, ...rest);
  };
  return sent;
}

it("prepares a statement once per connection and passes values through intact", async () => {
  const when = new Date("2026-11-30T12:00:00.123Z");
  const values = ["it's $2; DROP TABLE x; --", JSON.stringify({ q: "a'b", n: [1, 2] }), ["x'y", "z"], when];
  const client = await pool.connect();
  const sent = recording(client);
  try {
    const [res] = await roundTrip(client, [execute(client, { ...ECHO, values })]);
    expect(sent[0]).toMatch(/^PREPARE s_test_echo AS SELECT[^;]*;\nEXECUTE s_test_echo\(/);
    expect(res!.rows).toEqual([{ s: values[0], j: { q: "a'b", n: [1, 2] }, a: ["x'y", "z"], t: when }]);

    const again = await roundTrip(client, [execute(client, { ...ECHO, values })]);
    expect(sent[1]).toMatch(/^EXECUTE s_test_echo\(/);
    expect(again).toHaveLength(1);
    expect(again[0]!.rows[0].s).toBe(values[0]);
    expect(await prepared(client)).toContain("s_test_echo");
  } finally {
    client.release();
  }
});

it("answers each statement of a batch by position, however many of them were prepared on the way", async () => {
  await withConnection(pool, async (client) => {
    const one = (n: number) => execute(client, { name: `test.pos-${n}`, text: `SELECT ${n} + $1::int AS v`, values: [0] });
    // All new: three PREPAREs travel in front and their results are not handed back.
    const results = await roundTrip(client, ["BEGIN", one(1), one(2), one(3), "COMMIT"]);
    expect(results).toHaveLength(5);
    expect(results.slice(1, 4).map((r) => r.rows[0].v)).toEqual([1, 2, 3]);
    // One old, one new.
    const mixed = await roundTrip(client, [one(3), one(4)]);
    expect(mixed.map((r) => r.rows[0].v)).toEqual([3, 4]);
  });
});

it("refuses one name for two texts", async () => {
  await withConnection(pool, async (client) => {
    expect(() => execute(client, { name: "test.echo", text: "SELECT 1", values: [] })).toThrow(/two different texts/);
  });
});

it("discards a connection whose round trip with a PREPARE failed; the next one prepares afresh", async () => {
  let failedPid = 0;
  await expect(
    withConnection(pool, async (client) => {
      failedPid = await pidOf(client);
      await roundTrip(client, ["BEGIN", execute(client, { name: "test.fails", text: "SELECT 1 / $1::int AS q", values: [0] })]);
    }),
  ).rejects.toThrow(/division by zero/);
  const pids = new Set<number>();
  for (let i = 0; i < 3; i++) {
    await withConnection(pool, async (client) => {
      pids.add(await pidOf(client));
      const res = await roundTrip(client, [execute(client, { name: "test.fails", text: "SELECT 1 / $1::int AS q", values: [1] })]);
      expect(res[0]!.rows[0].q).toBe(1);
    });
  }
  // The failed connection (whose PREPARE did run) never came back: reusing it would have
  // sent a second PREPARE of the same name, or an EXECUTE of one that may not exist.
  expect(pids.has(failedPid)).toBe(false);
});

it("keeps a connection whose transaction threw before its PREPARE went out, and prepares it there later", async () => {
  let pid = 0;
  await expect(
    withConnection(pool, async (client) => {
      pid = await pidOf(client);
      execute(client, { name: "test.unsent", text: "SELECT $1::int + 1 AS v", values: [1] });
      throw new Error("the transaction gave up before its next round trip");
    }),
  ).rejects.toThrow(/gave up/);
  // Both connections held, so the one that threw is certainly among them.
  const a = await pool.connect();
  const b = await pool.connect();
  try {
    const again = (await pidOf(a)) === pid ? a : b;
    expect(await pidOf(again)).toBe(pid);
    expect(await prepared(again)).not.toContain("s_test_unsent");
    const res = await roundTrip(again, [execute(again, { name: "test.unsent", text: "SELECT $1::int + 1 AS v", values: [1] })]);
    expect(res[0]!.rows[0].v).toBe(2);
  } finally {
    a.release();
    b.release();
  }
});
