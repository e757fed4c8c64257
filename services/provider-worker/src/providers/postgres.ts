import { PermanentError, defineProvider, defineResourceType, sensitive, z, type SqlDatabase, type SqlQueryable } from "@pragma/provider-sdk";
import { connectionUrl, createOrAdopt, generatePassword, identifier } from "./shared";

/**
 * Built-in postgres provider: runs against the project's registered postgres
 * connection (whatever that account may do). Every create converges to the desired
 * state whether or not a previous attempt got halfway, so redeliveries are harmless.
 */

const name = identifier(63);

async function exists(db: SqlQueryable, sql: string, params: unknown[]): Promise<boolean> {
  return (await db.query(sql, params)).length > 0;
}

async function serverVersion(db: SqlQueryable): Promise<number> {
  const [row] = await db.query<{ v: string }>("SHOW server_version_num");
  return Number(row?.v ?? 0);
}

// ---- database ----------------------------------------------------------------------

const databaseConfig = z
  .object({
    name,
    owner: name.optional(),
    encoding: z.string().regex(/^[A-Za-z0-9_]+$/).default("UTF8"),
  })
  .strict();
const databaseOutputs = z.object({ name: z.string(), owner: z.string(), host: z.string(), port: z.number().int() });

async function ensureDatabase(db: SqlDatabase, c: z.infer<typeof databaseConfig>, previousName?: string) {
  if (previousName && previousName !== c.name && (await exists(db, "SELECT 1 FROM pg_database WHERE datname = $1", [previousName])) && !(await exists(db, "SELECT 1 FROM pg_database WHERE datname = $1", [c.name]))) {
    await db.query(`ALTER DATABASE ${db.ident(previousName)} RENAME TO ${db.ident(c.name)}`);
  }
  if (!(await exists(db, "SELECT 1 FROM pg_database WHERE datname = $1", [c.name]))) {
    // CREATE DATABASE has no IF NOT EXISTS; one created meanwhile is adopted (owner below).
    await createOrAdopt(() => db.query(`CREATE DATABASE ${db.ident(c.name)} ENCODING ${db.literal(c.encoding)} TEMPLATE template0${c.owner ? ` OWNER ${db.ident(c.owner)}` : ""}`));
  }
  if (c.owner) await db.query(`ALTER DATABASE ${db.ident(c.name)} OWNER TO ${db.ident(c.owner)}`);
  const [row] = await db.query<{ owner: string }>("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1", [c.name]);
  return { name: c.name, owner: row?.owner ?? "", host: db.info.host, port: db.info.port };
}

const database = defineResourceType({
  name: "database",
  description: "A PostgreSQL database on the project's registered server.",
  config: databaseConfig,
  outputs: databaseOutputs,
  async create(ctx) {
    return ensureDatabase(await ctx.database("postgres"), ctx.config);
  },
  async update(ctx) {
    return ensureDatabase(await ctx.database("postgres"), ctx.config, ctx.previousConfig?.name);
  },
  async delete(ctx) {
    const db = await ctx.database("postgres");
    const force = (await serverVersion(db)) >= 130000 ? " WITH (FORCE)" : "";
    await db.query(`DROP DATABASE IF EXISTS ${db.ident(ctx.config.name)}${force}`);
  },
  async health(ctx) {
    const db = await ctx.database("postgres");
    const ok = await exists(db, "SELECT 1 FROM pg_database WHERE datname = $1", [ctx.config.name]);
    return ok ? { status: "healthy" } : { status: "unhealthy", message: `database ${ctx.config.name} does not exist` };
  },
  async observe(ctx) {
    const db = await ctx.database("postgres");
    const [row] = await db.query<{ owner: string; encoding: string }>(
      "SELECT pg_get_userbyid(datdba) AS owner, pg_encoding_to_char(encoding) AS encoding FROM pg_database WHERE datname = $1",
      [ctx.config.name],
    );
    return row ? { exists: true, fields: { name: ctx.config.name, owner: row.owner, encoding: row.encoding } } : { exists: false };
  },
});

// ---- role --------------------------------------------------------------------------

const roleConfig = z
  .object({
    name,
    login: z.boolean().default(true),
    password_length: z.number().int().min(16).max(128).default(32),
    connection_limit: z.number().int().min(-1).default(-1),
    member_of: z.array(name).default([]),
    /** Database named in the connection string; defaults to the registered one. */
    database: name.optional(),
  })
  .strict();
const roleOutputs = z.object({
  name: z.string(),
  password: sensitive(z.string()),
  host: z.string(),
  port: z.number().int(),
  database: z.string(),
  connection_string: sensitive(z.string()),
});

async function ensureRole(db: SqlDatabase, c: z.infer<typeof roleConfig>, password: string, previous: z.infer<typeof roleConfig> | null) {
  if (previous && previous.name !== c.name && (await exists(db, "SELECT 1 FROM pg_roles WHERE rolname = $1", [previous.name])) && !(await exists(db, "SELECT 1 FROM pg_roles WHERE rolname = $1", [c.name]))) {
    await db.query(`ALTER ROLE ${db.ident(previous.name)} RENAME TO ${db.ident(c.name)}`);
  }
  const attrs = `${c.login ? "LOGIN" : "NOLOGIN"} PASSWORD ${db.literal(password)} CONNECTION LIMIT ${c.connection_limit}`;
  if (await exists(db, "SELECT 1 FROM pg_roles WHERE rolname = $1", [c.name])) {
    await db.query(`ALTER ROLE ${db.ident(c.name)} WITH ${attrs}`);
  } else if (!(await createOrAdopt(() => db.query(`CREATE ROLE ${db.ident(c.name)} WITH ${attrs}`)))) {
    // Created meanwhile (e.g. by a killed worker's leftover backend): take it over with our password.
    await db.query(`ALTER ROLE ${db.ident(c.name)} WITH ${attrs}`);
  }
  for (const r of previous?.member_of ?? []) {
    if (!c.member_of.includes(r) && (await exists(db, "SELECT 1 FROM pg_roles WHERE rolname = $1", [r]))) await db.query(`REVOKE ${db.ident(r)} FROM ${db.ident(c.name)}`);
  }
  for (const r of c.member_of) await db.query(`GRANT ${db.ident(r)} TO ${db.ident(c.name)}`);
  const database = c.database ?? db.info.database;
  return { name: c.name, password, host: db.info.host, port: db.info.port, database, connection_string: connectionUrl("postgresql", c.name, password, db.info.host, db.info.port, database) };
}

const role = defineResourceType({
  name: "role",
  description: "A PostgreSQL login role with a generated password; outputs a connection string (sensitive).",
  config: roleConfig,
  outputs: roleOutputs,
  async create(ctx) {
    // A create re-run sets a fresh password: the role converges, and only the outputs we report are used.
    return ensureRole(await ctx.database("postgres"), ctx.config, generatePassword(ctx.config.password_length), null);
  },
  async update(ctx) {
    const prev = ctx.previousConfig;
    const keep = typeof ctx.outputs?.password === "string" && (!prev || prev.password_length === ctx.config.password_length);
    return ensureRole(await ctx.database("postgres"), ctx.config, keep ? (ctx.outputs!.password as string) : generatePassword(ctx.config.password_length), prev);
  },
  async delete(ctx) {
    const db = await ctx.database("postgres");
    if (!(await exists(db, "SELECT 1 FROM pg_roles WHERE rolname = $1", [ctx.config.name]))) return;
    // Objects the role owns in the registered database pass to the registered account;
    // privileges elsewhere would block DROP ROLE and surface as a permanent error.
    await db.query(`REASSIGN OWNED BY ${db.ident(ctx.config.name)} TO CURRENT_USER`);
    await db.query(`DROP OWNED BY ${db.ident(ctx.config.name)}`);
    await db.query(`DROP ROLE IF EXISTS ${db.ident(ctx.config.name)}`);
  },
  async health(ctx) {
    const db = await ctx.database("postgres");
    const [row] = await db.query<{ rolcanlogin: boolean }>("SELECT rolcanlogin FROM pg_roles WHERE rolname = $1", [ctx.config.name]);
    if (!row) return { status: "unhealthy", message: `role ${ctx.config.name} does not exist` };
    return { status: "healthy", details: { can_login: row.rolcanlogin } };
  },
  async observe(ctx) {
    // The password cannot be read back (only its hash), so it is not observed.
    const db = await ctx.database("postgres");
    const [row] = await db.query<{ login: boolean; connection_limit: number; member_of: string[] | null }>(
      `SELECT r.rolcanlogin AS login, r.rolconnlimit AS connection_limit,
         ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) AS member_of
       FROM pg_roles r WHERE r.rolname = $1`,
      [ctx.config.name],
    );
    if (!row) return { exists: false };
    // Memberships granted by hand beyond the configured ones are not drift: an UPDATE only
    // revokes what it granted, so reporting them would heal for ever without converging.
    const held = new Set(row.member_of ?? []);
    const memberOf = ctx.config.member_of.filter((r) => held.has(r));
    return { exists: true, fields: { name: ctx.config.name, login: row.login, connection_limit: row.connection_limit, member_of: memberOf } };
  },
});

// ---- schema ------------------------------------------------------------------------

const schemaConfig = z.object({ name, owner: name.optional(), database: name.optional(), cascade_on_delete: z.boolean().default(false) }).strict();
const schemaOutputs = z.object({ name: z.string(), owner: z.string(), database: z.string() });

async function ensureSchema(db: SqlDatabase, c: z.infer<typeof schemaConfig>, previousName?: string) {
  if (previousName && previousName !== c.name && (await exists(db, "SELECT 1 FROM pg_namespace WHERE nspname = $1", [previousName])) && !(await exists(db, "SELECT 1 FROM pg_namespace WHERE nspname = $1", [c.name]))) {
    await db.query(`ALTER SCHEMA ${db.ident(previousName)} RENAME TO ${db.ident(c.name)}`);
  }
  // IF NOT EXISTS does not cover a create racing ours (23505): adopt it, the owner follows.
  await createOrAdopt(() => db.query(`CREATE SCHEMA IF NOT EXISTS ${db.ident(c.name)}${c.owner ? ` AUTHORIZATION ${db.ident(c.owner)}` : ""}`));
  if (c.owner) await db.query(`ALTER SCHEMA ${db.ident(c.name)} OWNER TO ${db.ident(c.owner)}`);
  const [row] = await db.query<{ owner: string }>("SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1", [c.name]);
  return { name: c.name, owner: row?.owner ?? "", database: db.info.database };
}

const schema = defineResourceType({
  name: "schema",
  description: "A schema in the registered database (or `database` on the same server).",
  config: schemaConfig,
  outputs: schemaOutputs,
  async create(ctx) {
    return ensureSchema(await ctx.database("postgres", dbOption(ctx.config.database)), ctx.config);
  },
  async update(ctx) {
    if (ctx.previousConfig && (ctx.previousConfig.database ?? null) !== (ctx.config.database ?? null)) throw new PermanentError("a schema cannot move to another database; delete it and create a new one");
    return ensureSchema(await ctx.database("postgres", dbOption(ctx.config.database)), ctx.config, ctx.previousConfig?.name);
  },
  async delete(ctx) {
    const db = await ctx.database("postgres", dbOption(ctx.config.database));
    await db.query(`DROP SCHEMA IF EXISTS ${db.ident(ctx.config.name)}${ctx.config.cascade_on_delete ? " CASCADE" : ""}`);
  },
  async observe(ctx) {
    const db = await ctx.database("postgres", dbOption(ctx.config.database));
    const [row] = await db.query<{ owner: string }>("SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = $1", [ctx.config.name]);
    return row ? { exists: true, fields: { name: ctx.config.name, owner: row.owner } } : { exists: false };
  },
});

function dbOption(database: string | undefined) {
  return database ? { database } : {};
}

// ---- grant -------------------------------------------------------------------------

const PRIVILEGES = ["ALL", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "USAGE", "CREATE", "CONNECT", "TEMPORARY"] as const;
const grantConfig = z
  .object({
    role: name,
    privileges: z.array(z.enum(PRIVILEGES)).min(1),
    on: z.enum(["database", "schema", "table", "all_tables"]),
    /** The database, schema or table name (a table may be schema-qualified with `schema`). */
    object: name,
    schema: name.optional(),
    database: name.optional(),
  })
  .strict();
const grantOutputs = z.object({ role: z.string(), privileges: z.array(z.string()), on: z.string(), object: z.string() });
type GrantConfig = z.infer<typeof grantConfig>;

function grantTarget(db: SqlDatabase, c: GrantConfig): string {
  switch (c.on) {
    case "database":
      return `DATABASE ${db.ident(c.object)}`;
    case "schema":
      return `SCHEMA ${db.ident(c.object)}`;
    case "table":
      return `TABLE ${c.schema ? `${db.ident(c.schema)}.` : ""}${db.ident(c.object)}`;
    case "all_tables":
      return `ALL TABLES IN SCHEMA ${db.ident(c.object)}`;
  }
}

/** What ALL grants on each kind of object. */
const ALL_OF: Record<GrantConfig["on"], string[]> = {
  database: ["CREATE", "CONNECT", "TEMPORARY"],
  schema: ["USAGE", "CREATE"],
  table: ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"],
  all_tables: ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"],
};

/**
 * The privileges granted directly to the role on the object (its ACL, not what it gets
 * through PUBLIC or membership); for all_tables, those it holds on every table of the
 * schema. null: the role or the object is gone.
 */
async function heldPrivileges(db: SqlDatabase, c: GrantConfig): Promise<Set<string> | null> {
  const [role] = await db.query<{ oid: string }>("SELECT oid::text AS oid FROM pg_roles WHERE rolname = $1", [c.role]);
  if (!role) return null;
  let acls: { found: boolean; privileges: string[] | null }[];
  const privs = (acl: string) => `ARRAY(SELECT a.privilege_type FROM aclexplode(${acl}) a WHERE a.grantee = $1::oid)`;
  switch (c.on) {
    case "database":
      acls = await db.query(`SELECT true AS found, ${privs("coalesce(datacl, acldefault('d', datdba))")} AS privileges FROM pg_database WHERE datname = $2`, [role.oid, c.object]);
      break;
    case "schema":
      acls = await db.query(`SELECT true AS found, ${privs("coalesce(nspacl, acldefault('n', nspowner))")} AS privileges FROM pg_namespace WHERE nspname = $2`, [role.oid, c.object]);
      break;
    case "table":
      acls = await db.query(
        `SELECT true AS found, ${privs("coalesce(c.relacl, acldefault('r', c.relowner))")} AS privileges FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relname = $2 AND n.nspname = coalesce($3, current_schema()) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')`,
        [role.oid, c.object, c.schema ?? null],
      );
      break;
    case "all_tables": {
      const [ns] = await db.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [c.object]);
      if (!ns) return null;
      acls = await db.query(
        `SELECT true AS found, ${privs("coalesce(c.relacl, acldefault('r', c.relowner))")} AS privileges FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = $2 AND c.relkind IN ('r', 'p')`,
        [role.oid, c.object],
      );
      // A schema without tables holds every privilege on all of them.
      if (acls.length === 0) return new Set(ALL_OF.all_tables);
      const sets = acls.map((a) => new Set(a.privileges ?? []));
      return new Set(ALL_OF.all_tables.filter((p) => sets.every((s) => s.has(p))));
    }
  }
  return acls[0] ? new Set(acls[0].privileges ?? []) : null;
}

// Revoking from something already gone is the state we want.
const GONE = new Set(["42704", "3F000", "42P01", "3D000"]);

async function revoke(db: SqlDatabase, c: GrantConfig): Promise<void> {
  try {
    await db.query(`REVOKE ${c.privileges.join(", ")} ON ${grantTarget(db, c)} FROM ${db.ident(c.role)}`);
  } catch (err) {
    if (!GONE.has((err as { cause?: { code?: string } }).cause?.code ?? "")) throw err;
  }
}

const grant = defineResourceType({
  name: "grant",
  description: "Privileges for a role on a database, schema, table or all tables in a schema.",
  config: grantConfig,
  outputs: grantOutputs,
  async create(ctx) {
    const db = await ctx.database("postgres", dbOption(ctx.config.database));
    await db.query(`GRANT ${ctx.config.privileges.join(", ")} ON ${grantTarget(db, ctx.config)} TO ${db.ident(ctx.config.role)}`);
    return { role: ctx.config.role, privileges: ctx.config.privileges, on: ctx.config.on, object: ctx.config.object };
  },
  async update(ctx) {
    const prev = ctx.previousConfig;
    if (prev) await revoke(await ctx.database("postgres", dbOption(prev.database)), prev);
    const db = await ctx.database("postgres", dbOption(ctx.config.database));
    await db.query(`GRANT ${ctx.config.privileges.join(", ")} ON ${grantTarget(db, ctx.config)} TO ${db.ident(ctx.config.role)}`);
    return { role: ctx.config.role, privileges: ctx.config.privileges, on: ctx.config.on, object: ctx.config.object };
  },
  async delete(ctx) {
    await revoke(await ctx.database("postgres", dbOption(ctx.config.database)), ctx.config);
  },
  async observe(ctx) {
    const db = await ctx.database("postgres", dbOption(ctx.config.database));
    const held = await heldPrivileges(db, ctx.config);
    if (held === null) return { exists: false };
    // Reported as config names them: a configured privilege is listed while it is held
    // (ALL while every privilege it stands for is).
    const privileges = ctx.config.privileges.filter((p) => (p === "ALL" ? ALL_OF[ctx.config.on].every((q) => held.has(q)) : held.has(p)));
    return { exists: true, fields: { role: ctx.config.role, on: ctx.config.on, object: ctx.config.object, privileges } };
  },
});

// ---- extension ---------------------------------------------------------------------

const extensionConfig = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,62}$/),
    schema: name.optional(),
    version: z.string().regex(/^[A-Za-z0-9_.-]+$/).optional(),
    database: name.optional(),
  })
  .strict();
const extensionOutputs = z.object({ name: z.string(), version: z.string(), schema: z.string() });

async function ensureExtension(db: SqlDatabase, c: z.infer<typeof extensionConfig>) {
  // A racing create is adopted; version and schema are aligned below either way.
  await createOrAdopt(() => db.query(`CREATE EXTENSION IF NOT EXISTS ${db.ident(c.name)}${c.schema ? ` SCHEMA ${db.ident(c.schema)}` : ""}${c.version ? ` VERSION ${db.literal(c.version)}` : ""}`));
  const read = async () =>
    (await db.query<{ version: string; schema: string }>("SELECT e.extversion AS version, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = $1", [c.name]))[0];
  let row = await read();
  if (row && c.version && row.version !== c.version) await db.query(`ALTER EXTENSION ${db.ident(c.name)} UPDATE TO ${db.literal(c.version)}`);
  if (row && c.schema && row.schema !== c.schema) await db.query(`ALTER EXTENSION ${db.ident(c.name)} SET SCHEMA ${db.ident(c.schema)}`);
  row = await read();
  return { name: c.name, version: row?.version ?? "", schema: row?.schema ?? "" };
}

const extension = defineResourceType({
  name: "extension",
  description: "A PostgreSQL extension (e.g. pgcrypto, citext) in the registered database.",
  config: extensionConfig,
  outputs: extensionOutputs,
  async create(ctx) {
    return ensureExtension(await ctx.database("postgres", dbOption(ctx.config.database)), ctx.config);
  },
  async update(ctx) {
    return ensureExtension(await ctx.database("postgres", dbOption(ctx.config.database)), ctx.config);
  },
  async delete(ctx) {
    const db = await ctx.database("postgres", dbOption(ctx.config.database));
    await db.query(`DROP EXTENSION IF EXISTS ${db.ident(ctx.config.name)}`);
  },
  async observe(ctx) {
    const db = await ctx.database("postgres", dbOption(ctx.config.database));
    const [row] = await db.query<{ version: string; schema: string }>(
      "SELECT e.extversion AS version, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = $1",
      [ctx.config.name],
    );
    return row ? { exists: true, fields: { name: ctx.config.name, version: row.version, schema: row.schema } } : { exists: false };
  },
});

export const postgresProvider = defineProvider({ name: "postgres", types: [database, role, schema, grant, extension] });
