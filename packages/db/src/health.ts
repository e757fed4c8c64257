/** Anything that runs a query: a node-postgres Pool. */
export interface Queryable {
  query(sql: string): Promise<unknown>;
}

export interface DatabaseCheck {
  status: "up" | "down";
  latency_ms?: number;
  /** A code only (ECONNREFUSED, 57P01, TIMEOUT): a driver's message may name the host and user. */
  error?: string;
}

/**
 * `SELECT 1` on the service's own pool, bounded by `timeoutMs` (a pool with no free
 * connection waits for one: that is "down" for readiness too). Shorter than the gateway's
 * 2 s wait for the ping reply, so a hung database is reported as such, not as a service
 * that did not answer. What the registry and the
 * store put in their ping reply, which GET /health/ready reports as `postgres`.
 */
export async function checkDatabase(pool: Queryable, timeoutMs = 1500): Promise<DatabaseCheck> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      pool.query("SELECT 1"),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { code: "TIMEOUT" })), timeoutMs);
      }),
    ]);
    return { status: "up", latency_ms: Math.round(performance.now() - started) };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { status: "down", latency_ms: Math.round(performance.now() - started), error: typeof code === "string" ? code : "UNREACHABLE" };
  } finally {
    clearTimeout(timer);
  }
}
