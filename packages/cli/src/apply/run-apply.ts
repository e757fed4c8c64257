import type { ApiClient } from "../client";
import { ApiError, CliError } from "../errors";
import type { PlannedResource } from "./validate";

export type OutcomeState = "ready" | "applied" | "failed" | "not_attempted" | "blocked" | "timed_out";

export interface Outcome {
  key: string;
  id: string;
  state: OutcomeState;
  /** The server's lifecycle_state when we last looked. */
  lifecycle_state?: string;
  message?: string;
}

/**
 * Live per-item status for long operations (apply --wait, delete --wait): the terminal's
 * spinner lines (../progress), or the console's table rows. Declared here, by its user, so
 * the console can run applyResources without the terminal code.
 */
export interface Progress {
  update(key: string, status: string): void;
  /** Stops any animation and leaves the final state on screen. */
  stop(): void;
}

export interface ApplyDeps {
  /** The CLI's ApiClient, or the console's session client: errors it throws as ApiError are recorded as failures. */
  client: Pick<ApiClient, "request">;
  progress: Progress;
  draft: boolean;
  wait: boolean;
  timeoutMs: number;
  pollMs: number;
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Follows GET /resources/watch (the CLI's watchResources); without it --wait polls. */
  watch?: (opts: { signal: AbortSignal; onEvent(e: LiveEvent): void }) => Promise<void>;
}

interface ResourceBody {
  id?: string;
  lifecycle_state?: string;
  error?: string | null;
}

/**
 * Applies in dependency order. A resource whose in-file dependency failed to apply is
 * not attempted. With --wait, all applied resources are polled together (the server
 * holds a dependent's event until its dependencies are ready, so there is nothing to
 * gain by applying one at a time); a dependent of a resource that ends `failed` is
 * reported as blocked, since the server keeps it pending until the dependency is fixed.
 */
export async function applyResources(plan: readonly PlannedResource[], deps: ApplyDeps): Promise<Outcome[]> {
  const outcomes = new Map<string, Outcome>();
  const inPlan = new Set(plan.map((p) => p.key));
  const live = deps.wait && !deps.draft ? await openLive(deps) : undefined;
  const failedKeys = () => new Set([...outcomes.values()].filter((o) => o.state === "failed" || o.state === "not_attempted" || o.state === "blocked").map((o) => o.key));

  for (const r of plan) {
    const broken = r.dependsOn.filter((d) => inPlan.has(d) && failedKeys().has(d));
    if (broken.length) {
      outcomes.set(r.key, { key: r.key, id: r.id, state: "not_attempted", message: `dependency ${broken.join(", ")} failed` });
      deps.progress.update(r.key, `not attempted (dependency ${broken.join(", ")} failed)`);
      continue;
    }
    deps.progress.update(r.key, "applying");
    try {
      const res = await deps.client.request<ResourceBody>("POST", "/resources/apply", {
        body: { ...r.body, lifecycle_state: deps.draft ? "draft" : "pending" },
      });
      const state = res.body?.lifecycle_state;
      outcomes.set(r.key, { key: r.key, id: res.body?.id ?? r.id, state: "applied", lifecycle_state: state });
      deps.progress.update(r.key, deps.wait ? (state ?? "applied") : `applied (${state ?? "?"})`);
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      // Without a reachable server every later apply fails the same way; stop here.
      if (!(err instanceof ApiError)) throw err;
      outcomes.set(r.key, { key: r.key, id: r.id, state: "failed", message: err.message + (err.requestId ? ` (request ${err.requestId})` : "") });
      deps.progress.update(r.key, `failed: ${firstLine(err.message)}`);
    }
  }

  if (deps.wait && !deps.draft) await waitForAll(plan, outcomes, deps, live);
  await live?.close();
  deps.progress.stop();
  return plan.map((r) => outcomes.get(r.key)!);
}

/** What a watch stream tells the wait: resources' latest bodies as the server changes them. */
export interface LiveEvent {
  type: "changed" | "deleted" | "reset" | "sync";
  resource?: ResourceBody & { id: string };
}

/**
 * Opens the watch before anything is applied (so no change can slip between the apply and
 * the stream) and waits for its first frame. Undefined when no stream could be opened in
 * time (an older server, a proxy that buffers): the wait then polls.
 */
async function openLive(deps: ApplyDeps): Promise<Live | undefined> {
  if (!deps.watch) return undefined;
  const live = new Live();
  const ctl = new AbortController();
  let synced!: (ok: boolean) => void;
  const opened = new Promise<boolean>((resolve) => (synced = resolve));
  const done = deps
    .watch({
      signal: ctl.signal,
      onEvent: (e) => {
        if (e.type === "sync") synced(true);
        else live.take(e);
      },
    })
    .catch(() => undefined)
    .finally(() => {
      live.ended = true;
      synced(false);
      live.wakeUp();
    });
  const timer = setTimeout(() => synced(false), 5_000);
  const ok = await opened;
  clearTimeout(timer);
  live.close = async () => {
    ctl.abort();
    await done;
  };
  if (!ok) {
    await live.close();
    return undefined;
  }
  return live;
}

class Live {
  readonly bodies = new Map<string, ResourceBody | "deleted">();
  /** The server could not say what was missed (event: reset): look once with GET. */
  stale = false;
  ended = false;
  close: () => Promise<void> = async () => undefined;
  private waiter: (() => void) | undefined;
  /** Something arrived since the last next(): do not sleep. */
  private news = false;

  take(e: LiveEvent): void {
    if (e.type === "reset") this.stale = true;
    else if (e.resource) this.bodies.set(e.resource.id, e.type === "deleted" ? "deleted" : e.resource);
    this.wakeUp();
  }

  wakeUp(): void {
    this.news = true;
    this.waiter?.();
    this.waiter = undefined;
  }

  /** Until something arrives or `ms` pass. The timer is cleared on wake-up: a pending one would keep the CLI's process alive after the wait. */
  async next(ms: number): Promise<void> {
    if (!this.news) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.news = false;
  }
}

/** Records what the server says of one waiting resource (its body, or gone) and shows it. */
function settle(r: PlannedResource, outcomes: Map<string, Outcome>, deps: ApplyDeps, body: ResourceBody | "deleted"): void {
  const o = outcomes.get(r.key)!;
  if (body === "deleted") {
    outcomes.set(r.key, { ...o, state: "failed", message: "the resource disappeared while waiting" });
    deps.progress.update(r.key, "failed: disappeared while waiting");
    return;
  }
  const state = body.lifecycle_state;
  if (state === "ready") {
    outcomes.set(r.key, { ...o, state: "ready", lifecycle_state: state });
    deps.progress.update(r.key, "ready");
  } else if (state === "failed") {
    outcomes.set(r.key, { ...o, state: "failed", lifecycle_state: state, message: body.error ?? "failed" });
    deps.progress.update(r.key, `failed: ${firstLine(body.error ?? "")}`);
  } else {
    outcomes.set(r.key, { ...o, lifecycle_state: state });
    const blockedBy = r.dependsOn.filter((d) => ["failed", "blocked"].includes(outcomes.get(d)?.state ?? ""));
    if (blockedBy.length) {
      outcomes.set(r.key, { ...o, state: "blocked", lifecycle_state: state, message: `waiting on failed dependency ${blockedBy.join(", ")}` });
      deps.progress.update(r.key, `blocked (dependency ${blockedBy.join(", ")} failed; the server keeps it ${state})`);
    } else {
      deps.progress.update(r.key, state ?? "unknown");
    }
  }
}

async function fetchBody(deps: ApplyDeps, id: string): Promise<ResourceBody | "deleted"> {
  const res = await deps.client.request<ResourceBody>("GET", `/resources/${encodeURIComponent(id)}`, { allow: [404] });
  return res.status === 404 ? "deleted" : res.body;
}

/**
 * Waits until every applied resource is ready or failed (or the timeout): from the watch
 * stream when one is open, each change shown as it happens; otherwise, or once the stream
 * ends, by polling every pollMs.
 */
async function waitForAll(plan: readonly PlannedResource[], outcomes: Map<string, Outcome>, deps: ApplyDeps, live: Live | undefined): Promise<void> {
  const deadline = deps.now() + deps.timeoutMs;
  const waiting = () => plan.filter((r) => outcomes.get(r.key)?.state === "applied");
  while (waiting().length) {
    const streaming = live !== undefined && !live.ended;
    for (const r of waiting()) {
      const o = outcomes.get(r.key)!;
      if (streaming && !live.stale) {
        const body = live.bodies.get(o.id);
        if (body !== undefined) settle(r, outcomes, deps, body);
        // A dependency that just failed blocks its dependents without a change of theirs.
        else if (o.lifecycle_state !== undefined) settle(r, outcomes, deps, { lifecycle_state: o.lifecycle_state });
      } else {
        settle(r, outcomes, deps, await fetchBody(deps, o.id));
      }
    }
    if (live) live.stale = false;
    if (!waiting().length) break;
    if (deps.now() >= deadline) {
      for (const r of waiting()) {
        const o = outcomes.get(r.key)!;
        outcomes.set(r.key, { ...o, state: "timed_out", message: `still ${o.lifecycle_state ?? "pending"} after ${Math.round(deps.timeoutMs / 1000)}s` });
        deps.progress.update(r.key, `timed out (still ${o.lifecycle_state ?? "pending"})`);
      }
      break;
    }
    if (streaming) await live.next(Math.max(0, Math.min(deps.timeoutMs, deadline - deps.now())));
    else {
      await deps.sleep(deps.pollMs);
    }
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? "";
}

export function summarize(outcomes: readonly Outcome[], waited: boolean): { text: string; ok: boolean } {
  const count = (s: OutcomeState) => outcomes.filter((o) => o.state === s).length;
  const succeeded = waited ? count("ready") : count("applied");
  const parts = [`${succeeded} ${waited ? "ready" : "applied"}`, `${count("failed")} failed`];
  if (count("blocked")) parts.push(`${count("blocked")} blocked`);
  if (count("timed_out")) parts.push(`${count("timed_out")} timed out`);
  parts.push(`${count("not_attempted")} not attempted`);
  const lines = [`Summary: ${parts.join(", ")}`];
  for (const o of outcomes) if (o.message && o.state !== "ready" && o.state !== "applied") lines.push(`  ${o.key} (${o.state.replace("_", " ")}): ${o.message.split("\n").join("\n    ")}`);
  return { text: lines.join("\n") + "\n", ok: succeeded === outcomes.length };
}
