import type { Command } from "commander";
import { UsageError } from "../errors";
import { render, renderKeyValues, renderTable } from "../output";
import { formatOf, optionsOf, sessionFor, type CommandContext } from "./shared";

type Entry = Record<string, unknown>;

export function registerOps(program: Command, ctx: CommandContext): void {
  const ops = program.command("ops").description("Operator tools (role operator or admin)");
  const dl = ops.command("dead-letter").description("Events that failed for good: inspect, retry, discard");
  const write = (s: string) => ctx.io.stdout.write(s);
  const path = (id: string) => `/ops/dead-letter/${encodeURIComponent(id)}`;

  dl.command("list")
    .description("List dead-lettered events")
    .option("--provider <provider>", "only this provider's events")
    .option("--reason <reason>", "only events dead-lettered for this reason: rejected, delivery_limit, expired or permanent_error")
    .option("--type <type>", "only events of this resource type")
    .action(async (_opts: unknown, cmd: Command) => {
      const o = optionsOf<{ provider?: string; reason?: string; type?: string }>(cmd);
      // The reason is checked by the API (422 naming it), so the CLI cannot drift from the server's list.
      const query = { provider: o.provider, reason: o.reason, resource_type: o.type };
      const res = await sessionFor(ctx, cmd).client().request<Entry[]>("GET", "/ops/dead-letter", { query });
      write(
        render(res.body ?? [], formatOf(cmd), (rows) =>
          rows.length
            ? renderTable(rows, [
                { header: "event id", value: (e) => e.event_id },
                { header: "provider", value: (e) => e.provider },
                { header: "type", value: (e) => e.resource_type },
                { header: "name", value: (e) => e.resource_name },
                { header: "event", value: (e) => e.event_type },
                { header: "attempts", value: (e) => e.attempt_count },
                { header: "reason", value: (e) => e.reason },
                { header: "failed at", value: (e) => e.failed_at },
                { header: "error", value: (e) => e.error_message },
              ])
            : o.provider || o.reason || o.type
              ? "No dead-lettered events match\n"
              : "The dead-letter store is empty\n",
        ),
      );
    });

  dl.command("show <event_id>")
    .description("Show one dead-lettered event with its attempts and (redacted) payload")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const res = await sessionFor(ctx, cmd).client().request<Entry>("GET", path(id));
      write(
        render(res.body, formatOf(cmd), describeDeadLetter),
      );
    });

  dl.command("retry [event_id]")
    .description("Re-queue one event, or --all (optionally only --provider's)")
    .option("--all", "retry every dead-lettered event")
    .option("--provider <provider>", "with --all: only this provider's events")
    .action(async (id: string | undefined, _opts: unknown, cmd: Command) => {
      const o = optionsOf<{ all?: boolean; provider?: string }>(cmd);
      if (Boolean(id) === Boolean(o.all)) throw new UsageError("give an event id or --all (not both)");
      if (id && o.provider) throw new UsageError("--provider only narrows --all");
      const client = sessionFor(ctx, cmd).client();
      if (id) {
        const res = await client.request<Entry>("POST", `${path(id)}/retry`);
        write(render(res.body, formatOf(cmd), (e) => `Re-queued as ${e.event_id} (${e.held ? "held until its dependencies are ready" : (e.status ?? "pending")})\n`));
      } else {
        const res = await client.request<{ retried_count: number }>("POST", "/ops/dead-letter/retry-all", { query: { provider: o.provider } });
        write(render(res.body, formatOf(cmd), (b) => `Retried ${b.retried_count} event(s)\n`));
      }
    });

  dl.command("delete [event_id]")
    .description("Discard one event, --all of them, or every event of --provider")
    .option("--all", "discard every dead-lettered event")
    .option("--provider <provider>", "discard every event of this provider")
    .action(async (id: string | undefined, _opts: unknown, cmd: Command) => {
      const o = optionsOf<{ all?: boolean; provider?: string }>(cmd);
      const chosen = [Boolean(id), Boolean(o.all), Boolean(o.provider)].filter(Boolean).length;
      if (chosen !== 1) throw new UsageError("give exactly one of: an event id, --all, --provider P");
      const client = sessionFor(ctx, cmd).client();
      if (id) {
        await client.request("DELETE", path(id));
        write(`Deleted ${id}\n`);
      } else {
        const res = await client.request<{ deleted_count: number }>("DELETE", "/ops/dead-letter", {
          query: o.all ? { all: "true" } : { provider: o.provider },
        });
        write(render(res.body, formatOf(cmd), (b) => `Deleted ${b.deleted_count} event(s)\n`));
      }
    });
}

/** `ops dead-letter show` in table mode: the fields, the attempts table, the payload. */
export function describeDeadLetter(e: Entry): string {
  const { attempts, payload, ...rest } = e;
  let text = renderKeyValues(Object.entries(rest));
  if (Array.isArray(attempts) && attempts.length) {
    const table = renderTable(attempts as Entry[], [
      { header: "at", value: (a) => a.at },
      { header: "error", value: (a) => a.error },
    ]);
    // Indent every line of the table, not the empty one after its last newline.
    text += "Attempts:\n" + table.trimEnd().replace(/^/gm, "  ") + "\n";
  }
  text += `Payload:\n  ${JSON.stringify(payload ?? null, null, 2).split("\n").join("\n  ")}\n`;
  return text;
}
