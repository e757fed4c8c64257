import { createTestDatabase } from "@pragma/testing";
import { createPool, execute, roundTrip, withConnection, type Pool, type PoolClient } from "../src/data/pg";

/**
 * Batched statements run as server-side prepared statements (pg.ts `execute`): prepared
 * once per connection, with literals that survive quoting, and a connection whose batch
 * failed after a PREPARE is discarded rather than trusted.
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

it("prepares a statement once per connection and passes values through intact", async () => {
  const when = new Date("2026-11-30T12:00:00.123Z");
  const values = ["it's $2; DROP TABLE x; --", JSON.stringify({ q: "a'b", n: [1, 2] }), ["x'y", "z"], when];
  await withConnection(pool, async (client) => {
    const first = execute(client, { ...ECHO, values });
    expect(first).toMatch(/^PREPARE s_test_echo AS /);
    const [res] = await roundTrip(client, [first]).then((r) => r.slice(-1));
    expect(res!.rows).toEqual([{ s: values[0], j: { q: "a'b", n: [1, 2] }, a: ["x'y", "z"], t: when }]);

    const again = execute(client, { ...ECHO, values });
    expect(again).toMatch(/^EXECUTE s_test_echo\(/);
    expect((await roundTrip(client, [again]))[0]!.rows[0].s).toBe(values[0]);
    expect(await prepared(client)).toContain("s_test_echo");
  });
});

it("refuses one name for two texts", async () => {
  await withConnection(pool, async (client) => {
    expect(() => execute(client, { name: "test.echo", text: "SELECT 1", values: [] })).toThrow(/two different texts/);
  });
});

it("discards a connection whose batch with a PREPARE failed, and the next one prepares afresh", async () => {
  const pids = new Set<number>();
  const pidOf = async (client: PoolClient) => (await client.query("SELECT pg_backend_pid() AS pid")).rows[0].pid as number;
  // Hold both pooled connections, so the failing batch runs on a connection that has not prepared "test.fails" yet.
  let failedPid = 0;
  await expect(
    withConnection(pool, async (client) => {
      failedPid = await pidOf(client);
      const stmt = execute(client, { name: "test.fails", text: "SELECT 1 / $1::int AS q", values: [0] });
      await roundTrip(client, ["BEGIN", stmt]);
    }),
  ).rejects.toThrow(/division by zero/);
  for (let i = 0; i < 3; i++) {
    await withConnection(pool, async (client) => {
      pids.add(await pidOf(client));
      const res = await roundTrip(client, [execute(client, { name: "test.fails", text: "SELECT 1 / $1::int AS q", values: [1] })]);
      expect(res[res.length - 1]!.rows[0].q).toBe(1);
    });
  }
  // The failed connection (whose PREPARE did run) never came back: reusing it would have
  // sent a second PREPARE of the same name, or an EXECUTE of one that may not exist.
  expect(pids.has(failedPid)).toBe(false);
});
