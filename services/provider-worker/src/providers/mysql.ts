import { PermanentError, defineProvider, defineResourceType, sensitive, z, type SqlDatabase } from "@pragma/provider-sdk";
import { connectionUrl, createOrAdopt, generatePassword, identifier } from "./shared";

/**
 * Built-in mysql provider (MySQL 8 and MariaDB 10.5+): IF [NOT] EXISTS forms plus
 * ALTER on every create, so a half-finished earlier attempt converges.
 */

const name = identifier(64);
const userName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/, "must be at most 32 letters, digits, _, . or -");
const host = z.string().regex(/^[A-Za-z0-9_.:%-]{1,255}$/).default("%");

const errno = (err: unknown) => (err as { cause?: { errno?: number } }).cause?.errno;

// ---- database ----------------------------------------------------------------------

const databaseConfig = z
  .object({
    name,
    charset: z.string().regex(/^[a-z0-9_]+$/).default("utf8mb4"),
    collation: z.string().regex(/^[a-z0-9_]+$/).optional(),
  })
  .strict();
const databaseOutputs = z.object({ name: z.string(), charset: z.string(), collation: z.string(), host: z.string(), port: z.number().int() });

async function ensureDatabase(db: SqlDatabase, c: z.infer<typeof databaseConfig>) {
  const spec = `CHARACTER SET ${c.charset}${c.collation ? ` COLLATE ${c.collation}` : ""}`;
  await createOrAdopt(() => db.query(`CREATE DATABASE IF NOT EXISTS ${db.ident(c.name)} ${spec}`));
  await db.query(`ALTER DATABASE ${db.ident(c.name)} ${spec}`);
  const [row] = await db.query<{ charset: string; collation: string }>(
    "SELECT DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
    [c.name],
  );
  return { name: c.name, charset: row?.charset ?? c.charset, collation: row?.collation ?? "", host: db.info.host, port: db.info.port };
}

const database = defineResourceType({
  name: "database",
  description: "A MySQL/MariaDB database (schema) on the project's registered server.",
  config: databaseConfig,
  outputs: databaseOutputs,
  async create(ctx) {
    return ensureDatabase(await ctx.database("mysql"), ctx.config);
  },
  async update(ctx) {
    // MySQL cannot rename a database; pretending to would mean copying every table.
    if (ctx.previousConfig && ctx.previousConfig.name !== ctx.config.name) throw new PermanentError("a mysql database cannot be renamed; delete it and create a new one");
    return ensureDatabase(await ctx.database("mysql"), ctx.config);
  },
  async delete(ctx) {
    const db = await ctx.database("mysql");
    await db.query(`DROP DATABASE IF EXISTS ${db.ident(ctx.config.name)}`);
  },
  async health(ctx) {
    const db = await ctx.database("mysql");
    const rows = await db.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [ctx.config.name]);
    return rows.length > 0 ? { status: "healthy" } : { status: "unhealthy", message: `database ${ctx.config.name} does not exist` };
  },
  async observe(ctx) {
    const db = await ctx.database("mysql");
    const [row] = await db.query<{ charset: string; collation: string }>(
      "SELECT DEFAULT_CHARACTER_SET_NAME AS charset, DEFAULT_COLLATION_NAME AS collation FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
      [ctx.config.name],
    );
    return row ? { exists: true, fields: { name: ctx.config.name, charset: row.charset, collation: row.collation } } : { exists: false };
  },
});

// ---- user --------------------------------------------------------------------------

const userConfig = z
  .object({
    name: userName,
    host,
    password_length: z.number().int().min(16).max(64).default(32),
    /** Database named in the connection string; defaults to the registered one. */
    database: name.optional(),
  })
  .strict();
const userOutputs = z.object({
  name: z.string(),
  host: z.string(),
  password: sensitive(z.string()),
  database: z.string(),
  connection_string: sensitive(z.string()),
});
type UserConfig = z.infer<typeof userConfig>;

const account = (db: SqlDatabase, u: { name: string; host: string }) => `${db.literal(u.name)}@${db.literal(u.host)}`;

async function userExists(db: SqlDatabase, u: { name: string; host: string }): Promise<boolean> {
  return (await db.query("SELECT 1 FROM mysql.user WHERE User = ? AND Host = ?", [u.name, u.host])).length > 0;
}

async function ensureUser(db: SqlDatabase, c: UserConfig, password: string, previous: UserConfig | null) {
  if (previous && (previous.name !== c.name || previous.host !== c.host) && (await userExists(db, previous)) && !(await userExists(db, c))) {
    await db.query(`RENAME USER ${account(db, previous)} TO ${account(db, c)}`);
  }
  // Created meanwhile or not, the ALTER below sets our password.
  await createOrAdopt(() => db.query(`CREATE USER IF NOT EXISTS ${account(db, c)} IDENTIFIED BY ${db.literal(password)}`));
  await db.query(`ALTER USER ${account(db, c)} IDENTIFIED BY ${db.literal(password)}`);
  const database = c.database ?? db.info.database;
  return { name: c.name, host: c.host, password, database, connection_string: connectionUrl("mysql", c.name, password, db.info.host, db.info.port, database) };
}

const user = defineResourceType({
  name: "user",
  description: "A MySQL/MariaDB user with a generated password; outputs a connection string (sensitive).",
  config: userConfig,
  outputs: userOutputs,
  async create(ctx) {
    return ensureUser(await ctx.database("mysql"), ctx.config, generatePassword(ctx.config.password_length), null);
  },
  async update(ctx) {
    const prev = ctx.previousConfig;
    const keep = typeof ctx.outputs?.password === "string" && (!prev || prev.password_length === ctx.config.password_length);
    return ensureUser(await ctx.database("mysql"), ctx.config, keep ? (ctx.outputs!.password as string) : generatePassword(ctx.config.password_length), prev);
  },
  async delete(ctx) {
    const db = await ctx.database("mysql");
    await db.query(`DROP USER IF EXISTS ${account(db, ctx.config)}`);
  },
  async observe(ctx) {
    // The password cannot be read back, so only the account's existence is observed.
    const db = await ctx.database("mysql");
    return (await userExists(db, ctx.config)) ? { exists: true, fields: { name: ctx.config.name, host: ctx.config.host } } : { exists: false };
  },
});

// ---- grant -------------------------------------------------------------------------

const PRIVILEGES = ["ALL PRIVILEGES", "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES", "CREATE VIEW", "SHOW VIEW", "TRIGGER", "EXECUTE", "LOCK TABLES", "CREATE TEMPORARY TABLES"] as const;
const grantConfig = z
  .object({
    user: userName,
    host,
    privileges: z.array(z.enum(PRIVILEGES)).min(1),
    database: name,
    /** A table name, or "*" for every table in the database. */
    table: z.union([z.literal("*"), name]).default("*"),
  })
  .strict();
const grantOutputs = z.object({ user: z.string(), host: z.string(), privileges: z.array(z.string()), database: z.string(), table: z.string() });
type GrantConfig = z.infer<typeof grantConfig>;

const target = (db: SqlDatabase, c: GrantConfig) => `${db.ident(c.database)}.${c.table === "*" ? "*" : db.ident(c.table)}`;

// No such grant (1141, 1147) or user (1133, 1396): what a revoke wants anyway.
const GONE = new Set([1141, 1147, 1133, 1396]);

async function revoke(db: SqlDatabase, c: GrantConfig): Promise<void> {
  try {
    await db.query(`REVOKE ${c.privileges.join(", ")} ON ${target(db, c)} FROM ${account(db, { name: c.user, host: c.host })}`);
  } catch (err) {
    if (!GONE.has(errno(err) ?? 0)) throw err;
  }
}

const grant = defineResourceType({
  name: "grant",
  description: "Privileges for a user on a database (all tables) or one table.",
  config: grantConfig,
  outputs: grantOutputs,
  async create(ctx) {
    const db = await ctx.database("mysql");
    await db.query(`GRANT ${ctx.config.privileges.join(", ")} ON ${target(db, ctx.config)} TO ${account(db, { name: ctx.config.user, host: ctx.config.host })}`);
    return { ...ctx.config, privileges: [...ctx.config.privileges] };
  },
  async update(ctx) {
    const db = await ctx.database("mysql");
    if (ctx.previousConfig) await revoke(db, ctx.previousConfig);
    await db.query(`GRANT ${ctx.config.privileges.join(", ")} ON ${target(db, ctx.config)} TO ${account(db, { name: ctx.config.user, host: ctx.config.host })}`);
    return { ...ctx.config, privileges: [...ctx.config.privileges] };
  },
  async delete(ctx) {
    await revoke(await ctx.database("mysql"), ctx.config);
  },
  async observe(ctx) {
    const c = ctx.config;
    const db = await ctx.database("mysql");
    if (!(await userExists(db, { name: c.user, host: c.host }))) return { exists: false };
    const grantee = `'${c.user}'@'${c.host}'`;
    const rows =
      c.table === "*"
        ? await db.query<{ p: string }>("SELECT PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ?", [grantee, c.database])
        : await db.query<{ p: string }>("SELECT PRIVILEGE_TYPE AS p FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ? AND TABLE_NAME = ?", [grantee, c.database, c.table]);
    const held = new Set(rows.map((r) => r.p));
    // Reported as config names them: ALL PRIVILEGES while the core data and schema privileges are all held.
    const privileges = c.privileges.filter((p) => (p === "ALL PRIVILEGES" ? MYSQL_ALL_CORE.every((q) => held.has(q)) : held.has(p)));
    return { exists: true, fields: { user: c.user, host: c.host, database: c.database, table: c.table, privileges } };
  },
});

const MYSQL_ALL_CORE = ["SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX"];

export const mysqlProvider = defineProvider({ name: "mysql", types: [database, user, grant] });
