/** Markdown for one run: machine facts, one table of headline figures with targets, details as JSON. */
export interface Row {
  benchmark: string;
  measure: string;
  value: string;
  target?: string;
  verdict?: "pass" | "short" | "n/a";
}

export function markdown(run: { started_at: string; machine: Record<string, unknown>; rows: Row[]; notes: string[] }): string {
  const m = run.machine;
  const lines = [
    `# Benchmark run ${run.started_at}`,
    "",
    `Machine: ${m.cores} cores (${m.cpu_model}), ${m.memory_gib} GiB, ${m.os}; Node ${m.node}; PostgreSQL ${m.postgres}; RabbitMQ ${m.rabbitmq}.`,
    "",
    "| benchmark | measure | value | target | verdict |",
    "|---|---|---:|---|---|",
    ...run.rows.map((r) => `| ${r.benchmark} | ${r.measure} | ${r.value} | ${r.target ?? ""} | ${r.verdict ?? ""} |`),
    "",
    ...(run.notes.length ? ["Notes:", "", ...run.notes.map((n) => `- ${n}`), ""] : []),
  ];
  return lines.join("\n");
}

export const verdict = (ok: boolean | undefined): Row["verdict"] => (ok === undefined ? "n/a" : ok ? "pass" : "short");
