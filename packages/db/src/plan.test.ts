import { migrationChecksum } from "./checksum";
import { planMigrations, type AppliedMigration, type LocalMigration } from "./plan";

const m = (name: string, sql = `-- ${name}\n`): LocalMigration => ({ name, script: Buffer.from(sql) });
const row = (mig: LocalMigration, over: Partial<AppliedMigration> = {}): AppliedMigration => ({
  migration_name: mig.name,
  checksum: migrationChecksum(mig.script),
  finished_at: new Date(),
  rolled_back_at: null,
  ...over,
});

const a = m("20240101000000_init");
const b = m("20240201000000_add_b");
const c = m("20240301000000_add_c");

describe("planMigrations", () => {
  it("applies everything on a fresh database, in folder order", () => {
    expect(planMigrations([a, b, c], [])).toEqual({ ok: true, pending: [a, b, c] });
  });

  it("applies nothing when every migration is recorded", () => {
    expect(planMigrations([a, b], [row(a), row(b)])).toEqual({ ok: true, pending: [] });
  });

  it("applies only migrations added since", () => {
    expect(planMigrations([a, b, c], [row(a), row(b)])).toEqual({ ok: true, pending: [c] });
  });

  it("applies a migration added before the last applied one, as prisma migrate deploy does", () => {
    expect(planMigrations([a, b, c], [row(a), row(c)])).toEqual({ ok: true, pending: [b] });
  });

  it("re-applies a migration marked rolled back", () => {
    const rolledBack = row(b, { finished_at: null, rolled_back_at: new Date() });
    expect(planMigrations([a, b], [row(a), rolledBack])).toEqual({ ok: true, pending: [b] });
  });

  it("refuses an edited migration", () => {
    const edited = m(b.name, "-- edited\n");
    const plan = planMigrations([a, edited], [row(a), row(b)]);
    expect(plan).toEqual({ ok: false, problems: [expect.objectContaining({ kind: "checksum-mismatch", migration: b.name })] });
  });

  it("refuses to continue after an unfinished migration", () => {
    const plan = planMigrations([a, b], [row(a), row(b, { finished_at: null })]);
    expect(plan).toEqual({ ok: false, problems: [expect.objectContaining({ kind: "unfinished", migration: b.name })] });
  });

  it("refuses a recorded migration missing from the folder", () => {
    const plan = planMigrations([a], [row(a), row(b)]);
    expect(plan).toEqual({ ok: false, problems: [expect.objectContaining({ kind: "missing-locally", migration: b.name })] });
  });

  it("reports every problem at once", () => {
    const plan = planMigrations([m(a.name, "x"), b], [row(a), row(b, { finished_at: null }), row(c)]);
    expect(plan.ok).toBe(false);
    if (!plan.ok) expect(plan.problems.map((p) => p.kind)).toEqual(["checksum-mismatch", "unfinished", "missing-locally"]);
  });
});
