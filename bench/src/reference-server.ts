// The reference pipeline: what a user would build instead of the control plane. One
// process (express 5 + pg-boss 10 on the same PostgreSQL):
//   POST /items  → one transaction: INSERT the row and enqueue a pg-boss job with the same
//                  client (pg-boss's `db` option), COMMIT, wake a worker, answer 200.
//   workers      → fetch jobs in batches and mark their rows done (done_at, JS clock, as the
//                  store stamps updated_at).
// Given its best shot: notifyWorker after each commit so latency is not the 500 ms minimum
// polling interval, several workers, batches of 50.
import express from "express";
import pg from "pg";
import PgBoss from "pg-boss";

const url = process.env.REF_DATABASE_URL!;
const QUEUE = "ref-items";
const WORKERS = Number(process.env.REF_WORKERS || 4);

async function main() {
  const pool = new pg.Pool({ connectionString: url, max: 20 });
  await pool.query(`CREATE TABLE IF NOT EXISTS items (id bigserial PRIMARY KEY, name text NOT NULL, created_at timestamptz(3) NOT NULL DEFAULT now(), done_at timestamptz(3))`);
  const boss = new PgBoss({ connectionString: url, max: 10, supervise: false, schedule: false });
  boss.on("error", (err) => console.error("pg-boss error", err));
  await boss.start();
  await boss.createQueue(QUEUE);

  const workerIds: string[] = [];
  for (let i = 0; i < WORKERS; i++) {
    workerIds.push(
      await boss.work<{ id: string }>(QUEUE, { batchSize: 50, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        await pool.query(`UPDATE items SET done_at = $2 WHERE id = ANY($1::bigint[])`, [jobs.map((j) => j.data.id), new Date()]);
      }),
    );
  }
  let rr = 0;

  const app = express();
  app.use(express.json());
  app.post("/items", async (req, res) => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query(`INSERT INTO items (name) VALUES ($1) RETURNING id`, [String(req.body?.name ?? "")]);
      const id = String(rows[0].id);
      await boss.send(QUEUE, { id }, { db: { executeSql: (text: string, values: any[]) => client.query(text, values) } });
      await client.query("COMMIT");
      boss.notifyWorker(workerIds[rr++ % workerIds.length]!);
      res.json({ id, name: req.body?.name });
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      res.status(500).json({ detail: (err as Error).message });
    } finally {
      client.release();
    }
  });
  const server = app.listen(0, "127.0.0.1", () => {
    const addr = server.address();
    process.stdout.write(`READY ${typeof addr === "object" && addr ? addr.port : 0}\n`);
  });
  process.on("SIGTERM", async () => {
    server.close();
    await boss.stop({ graceful: true, wait: true, timeout: 10_000 }).catch(() => undefined);
    await pool.end().catch(() => undefined);
    process.exit(0);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
