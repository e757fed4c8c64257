import type { ApiClient } from "../client";
import { ApiError } from "../errors";
import type { Progress } from "../progress";
import { applyResources, summarize, type ApplyDeps } from "./run-apply";
import type { PlannedResource } from "./validate";

const plan = (key: string, ...dependsOn: string[]): PlannedResource => {
  const [provider, resource, name] = key.split("/") as [string, string, string];
  return { key, id: `resource:${provider}_${resource}_${name}`, source: { file: "f", document: 1 }, body: { provider, resource, name, config: {} }, dependsOn, references: [] };
};

/** A scripted API: apply answers per name, GET answers a sequence of states per id. */
function fakeApi(opts: { failApply?: string[]; states?: Record<string, string[]> }) {
  const calls: string[] = [];
  const states = Object.fromEntries(Object.entries(opts.states ?? {}).map(([k, v]) => [k, [...v]]));
  const client = {
    async request(method: string, path: string, o: { body?: { name: string; lifecycle_state: string } } = {}) {
      calls.push(`${method} ${path}${o.body ? ` ${o.body.name}:${o.body.lifecycle_state}` : ""}`);
      if (method === "POST") {
        if (opts.failApply?.includes(o.body!.name)) throw new ApiError(422, "bad config", "VALIDATION_FAILED", "req_1", "422 VALIDATION_FAILED: bad config");
        return { status: 200, headers: new Headers(), body: { id: `resource:pragma_config_${o.body!.name}`, lifecycle_state: o.body!.lifecycle_state } };
      }
      const id = decodeURIComponent(path.split("/").pop()!);
      const seq = states[id] ?? ["ready"];
      const state = seq.length > 1 ? seq.shift()! : seq[0]!;
      return { status: 200, headers: new Headers(), body: { id, lifecycle_state: state, error: state === "failed" ? "boom" : null } };
    },
  };
  return { client: client as unknown as ApiClient, calls };
}

function deps(client: ApiClient, over: Partial<ApplyDeps> = {}): ApplyDeps & { lines: string[] } {
  const lines: string[] = [];
  const progress: Progress = { update: (k, s) => lines.push(`${k}: ${s}`), stop: () => undefined };
  let t = 0;
  return { client, progress, draft: false, wait: false, timeoutMs: 10_000, pollMs: 1000, now: () => t, sleep: async (ms) => void (t += ms), lines, ...over };
}

describe("applyResources", () => {
  it("applies pending in the given order and reports applied", async () => {
    const api = fakeApi({});
    const out = await applyResources([plan("pragma/config/a"), plan("pragma/config/b", "pragma/config/a")], deps(api.client));
    expect(api.calls).toEqual(["POST /resources/apply a:pending", "POST /resources/apply b:pending"]);
    expect(out.map((o) => o.state)).toEqual(["applied", "applied"]);
    expect(summarize(out, false)).toEqual({ ok: true, text: "Summary: 2 applied, 0 failed, 0 not attempted\n" });
  });

  it("sends draft with --draft", async () => {
    const api = fakeApi({});
    await applyResources([plan("pragma/config/a")], deps(api.client, { draft: true }));
    expect(api.calls).toEqual(["POST /resources/apply a:draft"]);
  });

  it("does not attempt dependents (transitively) of a failed apply, but does attempt independent ones", async () => {
    const api = fakeApi({ failApply: ["a"] });
    const out = await applyResources(
      [plan("pragma/config/a"), plan("pragma/config/b", "pragma/config/a"), plan("pragma/config/c", "pragma/config/b"), plan("pragma/config/d")],
      deps(api.client),
    );
    expect(out.map((o) => o.state)).toEqual(["failed", "not_attempted", "not_attempted", "applied"]);
    expect(api.calls).toEqual(["POST /resources/apply a:pending", "POST /resources/apply d:pending"]);
    const s = summarize(out, false);
    expect(s.ok).toBe(false);
    expect(s.text).toContain("Summary: 1 applied, 1 failed, 2 not attempted");
    expect(s.text).toContain("pragma/config/a (failed): 422 VALIDATION_FAILED: bad config (request req_1)");
  });

  it("with --wait and a watch stream follows the stream (no GET), the last change arriving while earlier ones are handled", async () => {
    const api = fakeApi({});
    let emit!: (e: { type: "changed" | "sync"; resource?: { id: string; lifecycle_state: string; error?: string | null } }) => void;
    const watch: ApplyDeps["watch"] = ({ signal, onEvent }) =>
      new Promise<void>((resolve) => {
        emit = onEvent;
        signal.addEventListener("abort", () => resolve());
        queueMicrotask(() => onEvent({ type: "sync" }));
      });
    // Polling would never finish: each poll sleeps an hour of a 10 s budget.
    const d = deps(api.client, { wait: true, watch, pollMs: 3_600_000, sleep: () => new Promise(() => undefined) });
    const run = applyResources([plan("pragma/config/a"), plan("pragma/config/b", "pragma/config/a")], d);
    await new Promise((r) => setTimeout(r, 10));
    emit({ type: "changed", resource: { id: "resource:pragma_config_a", lifecycle_state: "processing" } });
    emit({ type: "changed", resource: { id: "resource:pragma_config_a", lifecycle_state: "ready" } });
    emit({ type: "changed", resource: { id: "resource:pragma_config_b", lifecycle_state: "ready" } });
    const out = await run;
    expect(out.map((o) => o.state)).toEqual(["ready", "ready"]);
    expect(api.calls.filter((c) => c.startsWith("GET"))).toEqual([]);
  });

  it("with --wait falls back to polling when no watch stream opens", async () => {
    const api = fakeApi({ states: { "resource:pragma_config_a": ["pending", "ready"] } });
    const watch: ApplyDeps["watch"] = async () => {
      throw new Error("404");
    };
    const out = await applyResources([plan("pragma/config/a")], deps(api.client, { wait: true, watch }));
    expect(out.map((o) => o.state)).toEqual(["ready"]);
    expect(api.calls.filter((c) => c.startsWith("GET")).length).toBe(2);
  });

  it("with --wait polls until ready and reports each change once", async () => {
    const api = fakeApi({ states: { "resource:pragma_config_a": ["pending", "processing", "ready"] } });
    const d = deps(api.client, { wait: true });
    const out = await applyResources([plan("pragma/config/a")], d);
    expect(out[0]!.state).toBe("ready");
    expect(d.lines).toEqual(["pragma/config/a: applying", "pragma/config/a: pending", "pragma/config/a: pending", "pragma/config/a: processing", "pragma/config/a: ready"]);
  });

  it("with --wait marks dependents of a resource that failed as blocked instead of waiting forever", async () => {
    const api = fakeApi({ states: { "resource:pragma_config_a": ["processing", "failed"], "resource:pragma_config_b": ["pending"] } });
    const out = await applyResources([plan("pragma/config/a"), plan("pragma/config/b", "pragma/config/a")], deps(api.client, { wait: true }));
    expect(out.map((o) => o.state)).toEqual(["failed", "blocked"]);
    expect(out[0]!.message).toBe("boom");
  });

  it("with --wait gives up at the timeout", async () => {
    const api = fakeApi({ states: { "resource:pragma_config_a": ["pending"] } });
    const out = await applyResources([plan("pragma/config/a")], deps(api.client, { wait: true, timeoutMs: 3000 }));
    expect(out[0]).toMatchObject({ state: "timed_out", message: "still pending after 3s" });
    expect(summarize(out, true).text).toMatch(/^Summary: 0 ready, 0 failed, 1 timed out, 0 not attempted/);
  });
});
