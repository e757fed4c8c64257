// Entry point: `pnpm --filter @pragma/bench pushed [-- --count 5000 --rounds 2]` against a running system (see README.md).
import { parseArgs } from "node:util";
// The CLI's own packer (built by `npm run build`), so the bench pushes what `pragma providers push` would.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { packProvider } = require("../../packages/cli/dist/providers/pack.js") as { packProvider(dir: string): Promise<Buffer> };
import { GATEWAY_URL } from "./env";
import { mustCall } from "./http";
import { createTenant } from "./system";
import { round } from "./stats";
import { workerBench } from "./worker";

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: { count: { type: "string", default: "5000" }, rounds: { type: "string", default: "2" }, "timeout-seconds": { type: "string", default: "300" } },
});
const say = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** A pushed provider whose one type echoes its config, as pragma/config does. */
const NOOP = `const { defineProvider, defineResourceType, z } = require("@pragma/provider-sdk");
const echo = defineResourceType({
  name: "echo", description: "no-op", config: z.record(z.string(), z.unknown()), outputs: z.record(z.string(), z.unknown()),
  async create(ctx) { return { ...ctx.config }; }, async update(ctx) { return { ...ctx.config }; }, async delete() {},
});
module.exports = defineProvider({ name: "bench-noop", types: [echo] });
`;

async function main() {
  const count = Number(values.count);
  const timeoutMs = Number(values["timeout-seconds"]) * 1000;
  const tenant = await createTenant("pushed");
  const key = await mustCall(GATEWAY_URL, "POST", `/orgs/${tenant.orgId}/api-keys`, { headers: tenant.serverKey, body: { name: "bench-admin", role: "admin" } });
  const tok = await mustCall(GATEWAY_URL, "POST", "/auth/token", { body: { api_key: key.body.api_key } });
  const auth = { authorization: `Bearer ${tok.body.access_token}` };

  const { mkdtempSync, writeFileSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(`${tmpdir()}/bench-noop-`);
  writeFileSync(`${dir}/package.json`, JSON.stringify({ name: "bench-noop", main: "index.js" }));
  writeFileSync(`${dir}/index.js`, NOOP);
  const form = new FormData();
  form.append("deploy", "true");
  form.append("code", new Blob([await packProvider(dir)]), "p.tgz");
  const pushStarted = Date.now();
  const pushed = await fetch(`${GATEWAY_URL}/providers/bench-noop/push`, { method: "POST", headers: auth, body: form });
  if (pushed.status !== 202) throw new Error(`push → ${pushed.status}: ${await pushed.text()}`);
  const { version } = (await pushed.json()) as { version: string };
  for (;;) {
    const d = await fetch(`${GATEWAY_URL}/providers/bench-noop/deployment`, { headers: auth });
    if (d.status === 200 && ((await d.json()) as { healthy: boolean }).healthy) break;
    const b = (await (await fetch(`${GATEWAY_URL}/providers/bench-noop/builds/${version}`, { headers: auth })).json()) as { status: string; error_message: string };
    if (b.status === "failed") throw new Error(`build failed: ${b.error_message}`);
    if (Date.now() - pushStarted > timeoutMs) throw new Error("deployment never healthy");
    await new Promise((r) => setTimeout(r, 250));
  }
  say(`bench-noop ${version} pushed, built and deployed in ${Date.now() - pushStarted} ms`);

  const pushedTarget = { provider: "bench-noop", resourceType: "echo", routingKey: "pushed", orgId: tenant.orgId };
  // Warm-up: the pushed provider's process starts and both paths' caches fill.
  await workerBench({ count: 200, timeoutMs });
  await workerBench({ count: 200, timeoutMs, target: pushedTarget });
  const rows: { round: number; builtin: number; pushed: number; ratio: number }[] = [];
  for (let i = 0; i < Number(values.rounds); i++) {
    say(`round ${i + 1}: pragma/config, ${count} no-op events`);
    const b = await workerBench({ count, timeoutMs });
    say(`  → ${b.events_per_s} events/s; pushed bench-noop/echo, ${count} no-op events`);
    const p = await workerBench({ count, timeoutMs, target: pushedTarget });
    say(`  → ${p.events_per_s} events/s`);
    if (b.timed_out || p.timed_out) throw new Error(`timed out: builtin ${b.succeeded}/${count}, pushed ${p.succeeded}/${count}`);
    rows.push({ round: i + 1, builtin: b.events_per_s, pushed: p.events_per_s, ratio: round(p.events_per_s / b.events_per_s, 2) });
  }
  const text = [
    "| round | pragma/config events/s | pushed no-op events/s | pushed ÷ built-in |",
    "|---|---|---|---|",
    ...rows.map((r) => `| ${r.round} | ${r.builtin} | ${r.pushed} | ${r.ratio}× |`),
  ].join("\n");
  process.stdout.write(`${text}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
