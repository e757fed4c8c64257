import os from "node:os";
import amqp from "amqplib";
import pg from "pg";
import { AMQP_URL, DATABASE_URL } from "./env";

/** Facts about the machine and the infrastructure versions, queried (not assumed). */
export async function machineFacts() {
  const cpus = os.cpus();
  let postgres: string;
  let rabbitmq: string;
  try {
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    postgres = (await c.query("SHOW server_version")).rows[0].server_version;
    await c.end();
  } catch (err) {
    postgres = `unreachable (${(err as Error).message})`;
  }
  try {
    const conn = await amqp.connect(AMQP_URL);
    const props = (conn as any).connection?.serverProperties ?? {};
    rabbitmq = String(props.version ?? "unknown");
    await conn.close();
  } catch (err) {
    rabbitmq = `unreachable (${(err as Error).message})`;
  }
  return {
    cores: cpus.length,
    cpu_model: cpus[0]?.model ?? "unknown",
    memory_gib: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres,
    rabbitmq,
  };
}
