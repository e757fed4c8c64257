import type { TenantScope } from "@pragma/contracts";
import type { ResourceRecord } from "../domain/resources/model";
import type { ResourceRepository, StoreTx } from "../domain/resources/ports";
import { ObserveSweeper } from "./observe-sweeper";

const scope: TenantScope = { org_id: "o", project_id: "p", space_id: "s" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The store as the sweeper sees it: `overdue` hands out `batches` in turn (then nothing); every restart succeeds. */
function rig(batches: string[][]) {
  const sweeps: number[] = [];
  const scheduled: { id: string; tick: string }[] = [];
  const tx = {
    lockResource: async (id: string) => ({ resourceId: id, lifecycleState: "ready", provisioned: true, appliedConfig: {}, observationId: `obs_${id}` }) as unknown as ResourceRecord,
    restartObservation: async () => true,
    updateResource: async () => undefined,
  } as unknown as StoreTx;
  const repo = { inScope: async <T>(_s: TenantScope, fn: (t: StoreTx) => Promise<T>) => fn(tx) } as unknown as ResourceRepository;
  const sweeper = new ObserveSweeper({
    overdue: {
      overdue: async () => {
        sweeps.push(Date.now());
        return (batches.shift() ?? []).map((resourceId) => ({ scope, resourceId }));
      },
    },
    repo,
    clock: { now: () => new Date() },
    overdueGraceMs: 60_000,
    scheduler: { schedule: async (r: ResourceRecord, _ms?: number, tick?: string) => void scheduled.push({ id: r.resourceId, tick: tick! }) },
    logger: { info: () => undefined, warn: () => undefined } as never,
    intervalMs: 60_000,
    everyMs: 50,
    batch: 2,
    random: () => 0.5,
  });
  return { sweeper, sweeps, scheduled };
}

describe("ObserveSweeper", () => {
  it("restarts and schedules each overdue cycle with a new tick", async () => {
    const { sweeper, scheduled } = rig([["a", "b"]]);
    expect(await sweeper.sweepOnce()).toBe(2);
    expect(scheduled.map((s) => s.id)).toEqual(["a", "b"]);
    expect(new Set(scheduled.map((s) => s.tick)).size).toBe(2);
  });

  it("follows a sweep that filled its batch after a second, and otherwise waits its interval", async () => {
    const { sweeper, sweeps } = rig([["a", "b"], ["c"], [], []]);
    sweeper.start();
    // Waited for, not timed: a loaded machine may run the timers late, never early.
    for (let waited = 0; sweeps.length < 3 && waited < 10_000; waited += 20) await sleep(20);
    await sweeper.stop();
    expect(sweeps.length).toBeGreaterThanOrEqual(3);
    // After the full batch: the one-second pause; after the short one: the 50 ms interval, not a second.
    expect(sweeps[1]! - sweeps[0]!).toBeGreaterThanOrEqual(950);
    expect(sweeps[2]! - sweeps[1]!).toBeLessThan(900);
  });
});
