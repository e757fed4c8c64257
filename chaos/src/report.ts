/** One scenario's outcome: the columns of the table issue 27 asks for, and what explains them. */
export interface Row {
  scenario: string;
  fault: string;
  /** Applies answered 2xx (after the client's retries). */
  accepted: number;
  ready: number;
  failed: number;
  /** Accepted, in the store, but still pending/processing once the run settled. */
  stuck: number;
  /** Accepted, but not in the store, or no work event for it ever reached the work exchange. */
  lost: number;
  /** Resources that got more than one distinct work event (each was applied once): a hook ran again. */
  duplicate_hook_runs: number;
  /** Every 5xx answer by status, and "0" for no answer at all (refused, reset, timed out). */
  status_5xx: Record<string, number>;
  /** After the fault, with nobody's help: /health/ready 200 and a fresh apply became ready. */
  recovered: boolean;
  /** Dead letters of the run: every event of the load is healthy, so this must be 0. */
  dead_lettered: number;
  dead_letter_reasons: string[];
  /** Roles the store says are ready but pg_authid does not have. */
  roles_missing: number;
  /** Exits the runner restarted, counted per "<service>: <code or signal>". */
  restarted: Record<string, number>;
  given_up_applies: number;
  /** The distinct errors of failed resources (first five). */
  failures: string[];
  tap_messages: number;
}

export function formatTable(rows: Row[]): string {
  const head = ["scenario", "fault", "accepted", "ready", "failed", "stuck", "lost", "duplicate hook runs", "dead-lettered", "5xx (by status)", "recovered by itself", "roles missing", "applies given up", "restarted by the runner"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const r of rows) {
    const five = Object.entries(r.status_5xx)
      .map(([s, n]) => `${s === "0" ? "no answer" : s}: ${n}`)
      .join(", ");
    const restarted = Object.entries(r.restarted)
      .map(([k, n]) => `${k} x${n}`)
      .join(", ");
    lines.push(
      `| ${[r.scenario, r.fault, r.accepted, r.ready, r.failed, r.stuck, r.lost, r.duplicate_hook_runs, r.dead_lettered, five || "0", r.recovered ? "yes" : "no", r.roles_missing, r.given_up_applies, restarted || "none"].join(" | ")} |`,
    );
  }
  const failures = rows.flatMap((r) => [...r.failures, ...r.dead_letter_reasons.map((d) => `dead letter: ${d}`)].map((f) => `- ${r.scenario}: ${f}`));
  return [...lines, ...(failures.length ? ["", "Errors of failed resources, and dead letters:", ...failures] : [])].join("\n");
}
