// Counting what happened, from the system's own records rather than from the client: the
// store's resources table (state of every name of the run), a tap queue bound to the work
// exchange (every event the store published for the run), and pg_authid (the roles that exist).
import amqp from "amqplib";
import pg from "pg";

const STORE_SCHEMA = process.env.STORE_DATABASE_SCHEMA || "resource_store";
const WORK_EXCHANGE = "pragma.work";

/**
 * A durable quorum queue bound to the work exchange for the providers of the load, declared
 * before the load starts: it outlives broker restarts and a lost node, and is read at the end.
 */
export async function declareTap(amqpUrl: string, queue: string, providers: string[]): Promise<void> {
  const conn = await amqp.connect(amqpUrl.split(",")[0]!);
  const ch = await conn.createChannel();
  await ch.assertExchange(WORK_EXCHANGE, "direct", { durable: true });
  await ch.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "quorum" } });
  for (const p of providers) await ch.bindQueue(queue, WORK_EXCHANGE, p);
  await conn.close();
}

export interface TapCount {
  messages: number;
  /** resource name → distinct event ids published for it. */
  eventsPerName: Map<string, Set<string>>;
}

/** Reads the tap to its end and deletes it. */
export async function drainTap(amqpUrls: string, queue: string): Promise<TapCount> {
  let lastErr: unknown;
  for (const url of amqpUrls.split(",")) {
    try {
      const conn = await amqp.connect(url);
      const ch = await conn.createChannel();
      const out: TapCount = { messages: 0, eventsPerName: new Map() };
      for (;;) {
        const m = await ch.get(queue, { noAck: true });
        if (!m) break;
        out.messages++;
        const body = JSON.parse(m.content.toString("utf8")) as { data?: { resource_name?: string; event_id?: string }; resource_name?: string; event_id?: string };
        const w = body.data ?? body;
        if (!w.resource_name) continue;
        const set = out.eventsPerName.get(w.resource_name) ?? new Set<string>();
        set.add(w.event_id ?? "?");
        out.eventsPerName.set(w.resource_name, set);
      }
      await ch.deleteQueue(queue);
      await conn.close();
      return out;
    } catch (err) {
      lastErr = err;
    }
  }
  throw lastErr;
}

export interface StoreCount {
  /** name → lifecycle_state of every resource of the run in the store. */
  states: Map<string, string>;
  last_error: Map<string, string>;
}

export async function storeStates(databaseUrl: string, t: { orgId: string; projectId: string; spaceId: string }, prefix: string): Promise<StoreCount> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT name, lifecycle_state AS state, error FROM ${STORE_SCHEMA}.resources
        WHERE org_id = $1 AND project_id = $2 AND space_id = $3 AND name >= $4 AND name < $5`,
      [t.orgId, t.projectId, t.spaceId, prefix, `${prefix}~`],
    );
    const states = new Map<string, string>();
    const lastError = new Map<string, string>();
    for (const r of rows) {
      states.set(r.name, r.state);
      if (r.state === "failed" && r.error) lastError.set(r.name, String(r.error).slice(0, 200));
    }
    return { states, last_error: lastError };
  } finally {
    await c.end();
  }
}

/**
 * Dead letters of the run (the store drains pragma.dead-letter into its table). Every event of
 * the load is healthy, so each one is a healthy event dead-lettered: by reason and attempts.
 */
export async function deadLetters(databaseUrl: string, t: { orgId: string }, prefix: string): Promise<{ n: number; reasons: string[] }> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query(
      `SELECT reason, attempt_count, left(error_message, 120) AS error, count(*)::int AS n FROM ${STORE_SCHEMA}.dead_letters
        WHERE org_id = $1 AND resource_name >= $2 AND resource_name < $3 GROUP BY 1, 2, 3`,
      [t.orgId, prefix, `${prefix}~`],
    );
    return { n: rows.reduce((a, r) => a + (r.n as number), 0), reasons: rows.map((r) => `${r.n} x ${r.reason} (attempt_count ${r.attempt_count}): ${r.error}`) };
  } finally {
    await c.end();
  }
}

/** Roles named `<prefix>…` on the registered database server (pg_authid, as the issue counted them). */
export async function rolesOnServer(serverUrl: string, prefix: string): Promise<Set<string>> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    const { rows } = await c.query(`SELECT rolname FROM pg_authid WHERE rolname LIKE $1`, [`${prefix.replace(/-/g, "_")}%`]);
    return new Set(rows.map((r) => r.rolname as string));
  } finally {
    await c.end();
  }
}

/** Drops the roles and databases the run created on a shared server. */
export async function dropRunObjects(serverUrl: string, prefix: string): Promise<void> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  try {
    const like = `${prefix.replace(/-/g, "_")}%`;
    const dbs = await c.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [like]);
    for (const r of dbs.rows) await c.query(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`);
    const roles = await c.query(`SELECT rolname FROM pg_authid WHERE rolname LIKE $1`, [like]);
    for (const r of roles.rows) await c.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
  } finally {
    await c.end();
  }
}
