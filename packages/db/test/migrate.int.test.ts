import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { createTestDatabase, type TestDatabase } from "@pragma/testing";
import { MigrationError, migrate, migrationChecksum } from "@pragma/db";

const SCHEMA = "svc";

const INIT = `-- CreateTable
CREATE TABLE "widget" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    CONSTRAINT "widget_pkey" PRIMARY KEY ("id")
);
`;
const ADD_COLOUR = `ALTER TABLE "widget" ADD COLUMN "colour" TEXT;\n`;
const ADD_GADGET = `CREATE TABLE "gadget" ("id" TEXT PRIMARY KEY);\n`;

interface Row {
  id: string;
  checksum: string;
  finished_at: Date | null;
  migration_name: string;
  logs: string | null;
  rolled_back_at: Date | null;
  started_at: Date;
  applied_steps_count: number;
}

let db: TestDatabase;
let dirs: string[] = [];

async function migrationsDir(migrations: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pragma-migrations-"));
  dirs.push(dir);
  // Prisma keeps this file beside the migrations; the runner must ignore it.
  await writeFile(join(dir, "migration_lock.toml"), 'provider = "postgresql"\n');
  for (const [name, sql] of Object.entries(migrations)) await addMigration(dir, name, sql);
  return dir;
}

async function addMigration(dir: string, name: string, sql: string): Promise<void> {
  await mkdir(join(dir, name));
  await writeFile(join(dir, name, "migration.sql"), sql);
}

async function query<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: db.databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const rows = () => query<Row>(`SELECT * FROM ${SCHEMA}."_prisma_migrations" ORDER BY migration_name`);
const tables = async () =>
  (await query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name", [SCHEMA])).map(
    (r) => r.table_name,
  );

beforeEach(async () => {
  db = await createTestDatabase("db_migrate");
});

afterEach(async () => {
  await db.dispose();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  dirs = [];
});

describe("migrate", () => {
  it("applies every migration to a fresh database and records them the way Prisma does", async () => {
    const dir = await migrationsDir({ "20240101000000_init": INIT, "20240102000000_colour": ADD_COLOUR });

    const result = await migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: dir });

    expect(result.applied).toEqual(["20240101000000_init", "20240102000000_colour"]);
    // Unqualified names in the SQL land in the service's schema, not public.
    expect(await tables()).toEqual(["_prisma_migrations", "widget"]);
    const cols = await query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'widget' ORDER BY ordinal_position",
      [SCHEMA],
    );
    expect(cols.map((c) => c.column_name)).toEqual(["id", "name", "colour"]);

    const recorded = await rows();
    expect(recorded).toHaveLength(2);
    expect(recorded[0]).toMatchObject({
      migration_name: "20240101000000_init",
      checksum: migrationChecksum(Buffer.from(INIT)),
      logs: null,
      rolled_back_at: null,
      applied_steps_count: 1,
    });
    for (const row of recorded) {
      expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at!.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
    }
  });

  it("creates _prisma_migrations with exactly Prisma's columns", async () => {
    await migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: await migrationsDir({ "1_init": INIT }) });

    const cols = await query<{ column_name: string; data_type: string; len: number | null; is_nullable: string; column_default: string | null }>(
      `SELECT column_name, data_type, character_maximum_length AS len, is_nullable, column_default
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = '_prisma_migrations' ORDER BY ordinal_position`,
      [SCHEMA],
    );
    expect(cols).toEqual([
      { column_name: "id", data_type: "character varying", len: 36, is_nullable: "NO", column_default: null },
      { column_name: "checksum", data_type: "character varying", len: 64, is_nullable: "NO", column_default: null },
      { column_name: "finished_at", data_type: "timestamp with time zone", len: null, is_nullable: "YES", column_default: null },
      { column_name: "migration_name", data_type: "character varying", len: 255, is_nullable: "NO", column_default: null },
      { column_name: "logs", data_type: "text", len: null, is_nullable: "YES", column_default: null },
      { column_name: "rolled_back_at", data_type: "timestamp with time zone", len: null, is_nullable: "YES", column_default: null },
      { column_name: "started_at", data_type: "timestamp with time zone", len: null, is_nullable: "NO", column_default: "now()" },
      { column_name: "applied_steps_count", data_type: "integer", len: null, is_nullable: "NO", column_default: "0" },
    ]);
    const pk = await query<{ conname: string }>(
      `SELECT conname FROM pg_constraint WHERE contype = 'p' AND conrelid = '${SCHEMA}."_prisma_migrations"'::regclass`,
    );
    expect(pk).toEqual([{ conname: "_prisma_migrations_pkey" }]);
  });

  it("applies nothing to an already-migrated database and leaves its rows alone", async () => {
    const dir = await migrationsDir({ "20240101000000_init": INIT, "20240102000000_colour": ADD_COLOUR });
    await migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: dir });
    const before = await rows();

    const result = await migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: dir });

    expect(result.applied).toEqual([]);
    expect(await rows()).toEqual(before);
  });

  it("applies only a migration added later", async () => {
    const dir = await migrationsDir({ "20240101000000_init": INIT });
    await migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: dir });
    const [first] = await rows();
    await addMigration(dir, "20240103000000_gadget", ADD_GADGET);

    const result = await migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: dir });

    expect(result.applied).toEqual(["20240103000000_gadget"]);
    expect(await tables()).toEqual(["_prisma_migrations", "gadget", "widget"]);
    const after = await rows();
    expect(after.map((r) => r.migration_name)).toEqual(["20240101000000_init", "20240103000000_gadget"]);
    expect(after[0]).toEqual(first);
  });

  it("refuses to start when an applied migration was edited", async () => {
    const dir = await migrationsDir({ "20240101000000_init": INIT });
    await migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: dir });
    await writeFile(join(dir, "20240101000000_init", "migration.sql"), INIT.replace('"name" TEXT', '"name" VARCHAR(10)'));
    await addMigration(dir, "20240103000000_gadget", ADD_GADGET);

    const run = migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: dir });

    await expect(run).rejects.toThrow(MigrationError);
    await expect(run).rejects.toThrow(/20240101000000_init: migration.sql was edited after it was applied/);
    // Nothing after the mismatch was applied either.
    expect(await tables()).toEqual(["_prisma_migrations", "widget"]);
  });

  it("refuses to start after a migration recorded as unfinished", async () => {
    const dir = await migrationsDir({ "20240101000000_init": INIT, "20240102000000_colour": ADD_COLOUR });
    // What prisma migrate deploy leaves behind when a migration fails half-way.
    await query(`CREATE SCHEMA ${SCHEMA}`);
    await migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: await migrationsDir({ "20240101000000_init": INIT }) });
    await query(
      `INSERT INTO ${SCHEMA}."_prisma_migrations" (id, checksum, migration_name, logs) VALUES (gen_random_uuid(), $1, '20240102000000_colour', 'boom')`,
      [migrationChecksum(Buffer.from(ADD_COLOUR))],
    );

    await expect(migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: dir })).rejects.toThrow(/20240102000000_colour: recorded as started but never finished/);
  });

  it("refuses to start when a recorded migration is missing from the folder", async () => {
    const full = await migrationsDir({ "20240101000000_init": INIT, "20240102000000_colour": ADD_COLOUR });
    await migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: full });

    const older = await migrationsDir({ "20240101000000_init": INIT });

    await expect(migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: older })).rejects.toThrow(/20240102000000_colour: applied to the database but missing/);
  });

  it("applies each migration exactly once when replicas start together", async () => {
    // The sleep holds the first runner inside a migration long enough for the others to arrive.
    const dir = await migrationsDir({
      "20240101000000_init": `SELECT pg_sleep(0.3);\n${INIT}`,
      "20240102000000_colour": ADD_COLOUR,
      "20240103000000_gadget": ADD_GADGET,
    });
    const runs = await Promise.all(
      Array.from({ length: 4 }, () => migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: dir })),
    );

    const allApplied = runs.flatMap((r) => r.applied).sort();
    expect(allApplied).toEqual(["20240101000000_init", "20240102000000_colour", "20240103000000_gadget"]);
    expect(runs.filter((r) => r.applied.length > 0)).toHaveLength(1);
    expect((await rows()).map((r) => r.migration_name)).toEqual(allApplied);
  });

  it("rolls a failing migration back completely and records nothing for it", async () => {
    const dir = await migrationsDir({
      "20240101000000_init": INIT,
      "20240102000000_broken": `CREATE TABLE "half_done" ("id" TEXT);\nALTER TABLE "widget" ADD COLUMN "colour" TEXT;\nINSERT INTO "no_such_table" VALUES (1);\n`,
      "20240103000000_gadget": ADD_GADGET,
    });

    const run = migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: dir });

    await expect(run).rejects.toThrow(/20240102000000_broken: failed and was rolled back: relation "no_such_table" does not exist/);
    expect(await tables()).toEqual(["_prisma_migrations", "widget"]);
    const cols = await query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'widget'",
      [SCHEMA],
    );
    expect(cols.map((c) => c.column_name).sort()).toEqual(["id", "name"]);
    expect((await rows()).map((r) => r.migration_name)).toEqual(["20240101000000_init"]);

    // Once fixed, the next start carries on from where it stopped.
    await writeFile(join(dir, "20240102000000_broken", "migration.sql"), ADD_COLOUR);
    const retry = await migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: dir });
    expect(retry.applied).toEqual(["20240102000000_broken", "20240103000000_gadget"]);
  });

  it("keeps schemas of different services apart in one database", async () => {
    await migrate({ databaseUrl: db.databaseUrl, schema: "one", migrationsDir: await migrationsDir({ "1_init": INIT }) });
    const result = await migrate({ databaseUrl: db.databaseUrl, schema: "two", migrationsDir: await migrationsDir({ "1_init": INIT, "2_gadget": ADD_GADGET }) });

    expect(result.applied).toEqual(["1_init", "2_gadget"]);
    const counts = await query<{ schema: string; n: number }>(
      `SELECT 'one' AS schema, count(*)::int AS n FROM one."_prisma_migrations" UNION ALL SELECT 'two', count(*)::int FROM two."_prisma_migrations"`,
    );
    expect(counts).toEqual([{ schema: "one", n: 1 }, { schema: "two", n: 2 }]);
  });

  it("logs what it applied", async () => {
    const lines: { obj: Record<string, unknown>; msg: string }[] = [];
    const logger = { info: (obj: Record<string, unknown>, msg: string) => void lines.push({ obj, msg }) };
    await migrate({ databaseUrl: db.databaseUrl, schema: SCHEMA, migrationsDir: await migrationsDir({ "1_init": INIT }), logger });
    expect(lines).toEqual([{ obj: expect.objectContaining({ schema: SCHEMA, migration: "1_init" }), msg: "migration applied" }]);
  });
});
