import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * A PostgreSQL cluster of its own for a test that must stop, start or restart the database
 * under running services: the machine's shared server serves every other session and must
 * never be touched. initdb into a temp dir, listening on a free TCP port and a socket in the
 * same dir. PostgreSQL refuses to run as root, so when the test runs as root the binaries
 * run as the `postgres` user (runuser), which owns the temp dir.
 */
export interface PrivatePostgres {
  /** `postgresql://postgres@127.0.0.1:<port>/<database>` (trust auth on loopback). */
  url(database?: string): string;
  port: number;
  start(): Promise<void>;
  /** `pg_ctl stop -m fast`: every session is ended (57P01), as a real shutdown does. */
  stop(): Promise<void>;
  /** `pg_ctl restart -m fast`. */
  restart(): Promise<void>;
  /** Stops the cluster if running and deletes its directory. Idempotent. */
  dispose(): Promise<void>;
}

/** The newest installed PostgreSQL's bin dir (Debian layout), or PG_BIN when set. */
function pgBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, "bin", "initdb"))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) {
    throw new Error("startPrivatePostgres: no initdb under /usr/lib/postgresql/*/bin; install PostgreSQL's server package (apt-get install -y postgresql) or set PG_BIN");
  }
  return join(root, versions[0]!, "bin");
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0;

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = pgBin();
  const dir = await mkdtemp(join(tmpdir(), "pragma-pg-"));
  const data = join(dir, "data");
  const argvOf = (cmd: string, args: string[]): [string, string[]] =>
    isRoot() ? ["runuser", ["-u", "postgres", "--", join(bin, cmd), ...args]] : [join(bin, cmd), args];
  const asPostgres = async (cmd: string, args: string[]) => {
    const [file, argv] = argvOf(cmd, args);
    return run(file, argv, { timeout: 120_000 });
  };
  if (isRoot()) {
    await chmod(dir, 0o777);
    await run("chown", ["postgres", dir]);
  }
  const port = await freePort();
  const ctl = (action: string, extra: string[] = []) =>
    asPostgres("pg_ctl", [action, "-D", data, "-w", "-t", "60", "-l", join(dir, "log"), ...extra]);
  const options = ["-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`];
  let running = false;
  let disposed = false;
  // A test process that dies before afterAll must not leave a postmaster behind.
  const onExit = () => {
    if (!running) return;
    try {
      const [file, argv] = argvOf("pg_ctl", ["stop", "-D", data, "-m", "immediate"]);
      execFileSync(file, argv, { stdio: "ignore", timeout: 30_000 });
    } catch {
      // Best effort at exit.
    }
  };
  process.once("exit", onExit);
  await asPostgres("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const pg: PrivatePostgres = {
    port,
    url: (database = "postgres") => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      await ctl("start", options);
      running = true;
    },
    async stop() {
      await ctl("stop", ["-m", "fast"]);
      running = false;
    },
    async restart() {
      await ctl("restart", ["-m", "fast", ...options]);
      running = true;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      process.removeListener("exit", onExit);
      if (running) await ctl("stop", ["-m", "immediate"]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await pg.start();
  } catch (err) {
    await pg.dispose();
    throw err;
  }
  return pg;
}
