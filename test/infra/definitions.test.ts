/**
 * infra/rabbitmq/definitions.json is exported from the code (scripts/export-topology.mjs
 * merges the topology each service declares on connect); this checks the committed file
 * against the code, so a change to a queue's arguments without re-exporting fails here.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
const exportTopology = (env: NodeJS.ProcessEnv = process.env) =>
  spawnSync(process.execPath, [join(root, "scripts", "export-topology.mjs"), "--check"], { cwd: root, encoding: "utf8", env });

interface Definitions {
  queues: { name: string; durable: boolean; arguments: Record<string, unknown> }[];
  exchanges: { name: string; type: string }[];
  bindings: { source: string; destination: string; routing_key: string }[];
}
const definitions = (): Definitions => JSON.parse(readFileSync(join(root, "infra", "rabbitmq", "definitions.json"), "utf8"));

it("the committed definitions.json is what the code declares (else: node scripts/export-topology.mjs)", () => {
  const r = exportTopology();
  expect(r.stderr).toMatch(/matches the code/);
  expect(r.status).toBe(0);
});

it("the check fails when the file and the code differ", () => {
  // Same code, another vhost: every entry differs from the committed file.
  const r = exportTopology({ ...process.env, AMQP_VHOST: "elsewhere" });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/differs from the code: run node scripts\/export-topology.mjs/);
});

it("work, retry, results and dead-letter queues are quorum (they survive a node); RPC queues are transient (recreated on a surviving node)", () => {
  const d = definitions();
  for (const q of d.queues) {
    if (q.name.startsWith("rpc.")) expect({ name: q.name, durable: q.durable, type: q.arguments["x-queue-type"] }).toEqual({ name: q.name, durable: false, type: "classic" });
    else expect({ name: q.name, durable: q.durable, type: q.arguments["x-queue-type"] }).toEqual({ name: q.name, durable: true, type: "quorum" });
  }
  expect(d.queues.map((q) => q.name)).toEqual(expect.arrayContaining(["work.pragma", "work.postgres", "work.mysql", "pragma.dead-letter", "resource-store.results", "rpc.registry", "rpc.resource-store", "rpc.provider-worker"]));
  for (const w of d.queues.filter((q) => q.name.startsWith("work."))) {
    expect(w.arguments).toMatchObject({ "x-delivery-limit": expect.any(Number), "x-dead-letter-exchange": "pragma.dlx", "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish" });
    expect(d.bindings).toContainEqual(expect.objectContaining({ source: "pragma.work", destination: w.name, routing_key: w.name.slice("work.".length) }));
  }
});
