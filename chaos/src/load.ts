// The mixed load: applies of several providers through the gateway, by a client that
// retries what was not answered 2xx, as a user's CI would, with an Idempotency-Key per
// resource: a retry of an apply that committed before its answer was lost gets that answer
// and runs nothing again (issue 27.4).
// Every answer is counted by status, retries included, so a 5xx seen and then retried away
// still shows in the table.
import type { Tenant } from "./system";
import { call, mapLimit, sleep } from "./util";

export interface Item {
  provider: string;
  resource: string;
  name: string;
  config: Record<string, unknown>;
}

/**
 * `count` resources named `<prefix><n>`: 7 in 10 pragma no-ops (config, random), 3 in 10
 * postgres roles and databases on the project's registered database server.
 */
export function mixedLoad(prefix: string, count: number): Item[] {
  return Array.from({ length: count }, (_, i) => {
    const name = `${prefix}${String(i).padStart(5, "0")}`;
    switch (i % 10) {
      case 7:
        return { provider: "postgres", resource: "role", name, config: { name: name.replace(/-/g, "_") } };
      case 8:
        return { provider: "postgres", resource: "database", name, config: { name: name.replace(/-/g, "_") } };
      case 9:
        return { provider: "pragma", resource: "random", name, config: { length: 24 } };
      default:
        return { provider: "pragma", resource: "config", name, config: { n: i, note: "chaos" } };
    }
  });
}

export interface LoadResult {
  /** Names whose apply was answered 2xx (at some attempt). */
  accepted: Set<string>;
  /** Names given up on: a 4xx other than 409/429, or still failing after every attempt. */
  rejected: Map<string, string>;
  /** Every answer by status ("0" = no answer: refused, reset or timed out). */
  statuses: Map<string, number>;
  /** Why an attempt got no answer (status 0), by message. */
  noAnswer: Map<string, number>;
  /** The distinct bodies of 5xx answers (first 200 characters), by status and text. */
  errors5xx: Map<string, number>;
  attempts: number;
}

export async function applyAll(baseUrl: string, tenant: Tenant, items: Item[], opts: { connections: number; maxAttempts: number; onAnswered?: (n: number) => void }): Promise<LoadResult> {
  const out: LoadResult = { accepted: new Set(), rejected: new Map(), statuses: new Map(), noAnswer: new Map(), errors5xx: new Map(), attempts: 0 };
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  let answered = 0;
  await mapLimit(items, opts.connections, async (item) => {
    for (let attempt = 1; ; attempt++) {
      const res = await call(baseUrl, "POST", "/resources/apply", { headers: { ...tenant.headers, "idempotency-key": `chaos-${item.name}` }, body: { ...item, lifecycle_state: "pending" }, timeoutMs: 30_000 });
      out.attempts++;
      bump(out.statuses, String(res.status));
      if (res.status === 0) bump(out.noAnswer, res.text.slice(0, 200));
      if (res.status >= 500) bump(out.errors5xx, `${res.status} ${res.text.slice(0, 200)}`);
      if (res.status >= 200 && res.status < 300) {
        out.accepted.add(item.name);
        break;
      }
      const retryable = res.status === 0 || res.status >= 500 || res.status === 409 || res.status === 429;
      if (!retryable || attempt >= opts.maxAttempts) {
        out.rejected.set(item.name, `${res.status} ${res.text.slice(0, 200)}`);
        break;
      }
      await sleep(Math.min(250 * attempt, 2000));
    }
    opts.onAnswered?.(++answered);
  });
  return out;
}
