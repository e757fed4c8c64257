import type { Command } from "commander";
import YAML from "yaml";
import { parseDocuments, type SourceDocument } from "../apply/parse";
import { formatProblem, type Problem } from "../apply/problem";
import { applyResources, summarize, type LiveEvent } from "../apply/run-apply";
import { watchResources, type WatchEvent } from "../watch";
import { validateDocuments } from "../apply/validate";
import type { ApiClient } from "../client";
import { readInput } from "../documents";
import { parseDuration } from "../duration";
import { ApiError, CliError, UsageError, EXIT_FAILURE } from "../errors";
import { cell, render, renderData, renderKeyValues, renderTable, type Column } from "../output";
import { createProgress } from "../progress";
import { canonicalResourceId, resourcePath } from "../resource-id";
import { collect, formatOf, liveProgress, optionsOf, sessionFor, type CommandContext } from "./shared";

export interface ResourceView {
  id: string;
  provider: string;
  resource: string;
  name: string;
  project_id?: string;
  space_id?: string;
  config?: Record<string, unknown>;
  dependencies?: { provider: string; resource: string; name: string }[];
  owner_references?: { provider: string; resource: string; name: string }[];
  outputs?: Record<string, unknown>;
  error?: string | null;
  lifecycle_state: string;
  pending_event_id?: string | null;
  provisioned?: boolean;
  tags?: string[] | null;
  drift?: { detected_at: string; fields: string[] } | null;
  drift_policy?: string;
  created_at?: string;
  updated_at?: string;
}

/** "owner, exists" or "" (no drift). */
const driftCell = (r: ResourceView) => (r.drift ? r.drift.fields.join(",") : "");

export const RESOURCE_COLUMNS: Column<ResourceView>[] = [
  { header: "provider", value: (r) => r.provider },
  { header: "type", value: (r) => r.resource },
  { header: "name", value: (r) => r.name },
  { header: "state", value: (r) => r.lifecycle_state },
  { header: "drift", value: driftCell },
  { header: "tags", value: (r) => r.tags },
  { header: "updated", value: (r) => r.updated_at },
];

interface HistoryView {
  at: string;
  kind: string;
  event_id: string | null;
  request_id: string | null;
  summary: string;
}

const HISTORY_COLUMNS: Column<HistoryView>[] = [
  { header: "at", value: (e) => e.at },
  { header: "kind", value: (e) => e.kind },
  { header: "event", value: (e) => e.event_id },
  { header: "request", value: (e) => e.request_id },
  { header: "summary", value: (e) => e.summary },
];

/** How often --wait polls when no watch stream could be opened (PRAGMA_POLL_MS overrides it). */
const POLL_MS = 1000;

/** `describe`: everything about one resource, in sections a human scans top to bottom. */
export function describeResource(r: ResourceView): string {
  const refs = (list?: { provider: string; resource: string; name: string }[]) =>
    list?.length ? list.map((d) => `  - ${d.provider}/${d.resource}/${d.name}`).join("\n") + "\n" : "  (none)\n";
  const block = (value: unknown) => {
    if (!value || (typeof value === "object" && !Object.keys(value).length)) return "  (none)\n";
    return YAML.stringify(value).trimEnd().split("\n").map((l) => `  ${l}`).join("\n") + "\n";
  };
  return (
    renderKeyValues([
      ["Name", r.name],
      ["Provider", r.provider],
      ["Type", r.resource],
      ["Id", r.id],
      ["Project", r.project_id],
      ["Space", r.space_id],
      ["State", r.lifecycle_state],
      ["Provisioned", r.provisioned],
      ["Pending event", r.pending_event_id],
      ["Error", r.error],
      ["Drift", r.drift ? `${r.drift.fields.join(", ")} (since ${r.drift.detected_at})` : "none"],
      ["Drift policy", r.drift_policy],
      ["Tags", r.tags],
      ["Created", r.created_at],
      ["Updated", r.updated_at],
    ]) +
    "Dependencies:\n" +
    refs(r.dependencies) +
    "Owner references:\n" +
    refs(r.owner_references) +
    "Config:\n" +
    block(r.config) +
    "Outputs:\n" +
    block(r.outputs)
  );
}

function nextCursor(headers: Headers, body: unknown): string | undefined {
  const fromHeader = headers.get("next_cursor") ?? headers.get("next-cursor") ?? headers.get("x-next-cursor");
  if (fromHeader) return fromHeader;
  const b = body as { next_cursor?: unknown } | undefined;
  return typeof b?.next_cursor === "string" && b.next_cursor ? b.next_cursor : undefined;
}

/** Follows next_cursor until the last page; a repeated cursor ends the walk instead of looping forever. */
export async function listAll<T>(client: ApiClient, path: string, query: Record<string, string | string[] | undefined>): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (;;) {
    const res = await client.request<unknown>("GET", path, { query: { ...query, cursor } });
    const page = Array.isArray(res.body) ? res.body : ((res.body as { items?: T[] } | undefined)?.items ?? []);
    items.push(...(page as T[]));
    cursor = nextCursor(res.headers, res.body);
    if (!cursor || seen.has(cursor)) return items;
    seen.add(cursor);
  }
}

async function loadDocuments(ctx: CommandContext, files: string[]): Promise<{ documents: SourceDocument[]; problems: Problem[] }> {
  const documents: SourceDocument[] = [];
  const problems: Problem[] = [];
  for (const file of files) {
    const text = await readInput(ctx.io, file);
    const parsed = parseDocuments(text, file === "-" ? "<stdin>" : file);
    documents.push(...parsed.documents);
    problems.push(...parsed.problems);
  }
  return { documents, problems };
}

export function registerResources(program: Command, ctx: CommandContext): void {
  const resources = program.command("resources").description("Declarative resources in the current project and space");
  const write = (s: string) => ctx.io.stdout.write(s);

  resources
    .command("apply")
    .description("Apply every document of the given YAML files, dependencies first")
    .requiredOption("-f, --file <files...>", "YAML files, multi-document allowed (`-` for stdin)")
    .option("--draft", "store as draft only (no processing)")
    .option("--wait", "wait until every resource is ready or failed")
    .option("--timeout <duration>", "with --wait: give up after this long (seconds, or 30s/5m)", "300")
    .action(async (_opts: unknown, cmd: Command) => {
      const o = optionsOf<{ file: string[]; draft?: boolean; wait?: boolean; timeout: string }>(cmd);
      if (o.draft && o.wait) throw new UsageError("--wait cannot be combined with --draft", "drafts are never processed, so there is nothing to wait for");
      const timeoutMs = parseDuration(o.timeout);
      const format = formatOf(cmd);
      if (o.file.filter((f) => f === "-").length > 1) throw new UsageError("stdin (-) can be given only once");

      const loaded = await loadDocuments(ctx, o.file);
      const { resources: plan, problems } = validateDocuments(loaded.documents);
      const all = [...loaded.problems, ...problems];
      if (all.length) {
        throw new UsageError(
          `${all.length} problem${all.length === 1 ? "" : "s"} found, nothing was applied:\n  ${all.map(formatProblem).join("\n  ")}`,
        );
      }

      const session = sessionFor(ctx, cmd);
      const client = session.client();
      // Progress goes to stderr when stdout carries json/yaml, so the data stays parseable.
      const progressOut = format === "table" ? ctx.io.stdout : ctx.io.stderr;
      const progress = createProgress(progressOut, format === "table" && liveProgress(ctx, cmd));
      const outcomes = await applyResources(plan, {
        client,
        progress,
        draft: Boolean(o.draft),
        wait: Boolean(o.wait),
        timeoutMs,
        pollMs: Number(ctx.io.env.PRAGMA_POLL_MS ?? POLL_MS),
        now: () => ctx.io.now(),
        sleep: (ms) => ctx.io.sleep(ms),
        ...(o.wait ? { watch: (w: { signal: AbortSignal; onEvent(e: LiveEvent): void }) => watchResources(client, { ...w, onEvent: (e) => w.onEvent(e as LiveEvent), maxReconnects: 3 }) } : {}),
      });
      const summary = summarize(outcomes, Boolean(o.wait));
      if (format === "table") write(summary.text);
      else write(renderData(outcomes, format));
      if (!summary.ok) ctx.setExitCode(EXIT_FAILURE);
    });

  resources
    .command("list")
    .description("List resources (all pages)")
    .option("--provider <provider>", "only this provider")
    .option("--type <type>", "only this resource type")
    .option("--tag <tag>", "only resources with this tag (repeatable: all must match)", collect, [])
    .action(async (_opts: unknown, cmd: Command) => {
      const o = optionsOf<{ provider?: string; type?: string; tag: string[] }>(cmd);
      const items = await listAll<ResourceView>(sessionFor(ctx, cmd).client(), "/resources/", {
        provider: o.provider,
        resource: o.type,
        tags: o.tag.length ? o.tag : undefined,
      });
      write(render(items, formatOf(cmd), (rows) => (rows.length ? renderTable(rows, RESOURCE_COLUMNS) : "No resources found\n")));
    });

  resources
    .command("watch")
    .description("Follow changes live (GET /resources/watch): one line per change, until Ctrl-C or --timeout")
    .option("--provider <provider>", "only this provider")
    .option("--type <type>", "only this resource type")
    .option("--tag <tag>", "only resources with this tag (repeatable: all must match)", collect, [])
    .option("--since <position>", "resume after this position (the id a previous watch printed with -o json)")
    .option("--timeout <duration>", "stop after this long (seconds, or 30s/5m)")
    .action(async (_opts: unknown, cmd: Command) => {
      const o = optionsOf<{ provider?: string; type?: string; tag: string[]; since?: string; timeout?: string }>(cmd);
      const format = formatOf(cmd);
      const ctl = new AbortController();
      const timer = o.timeout === undefined ? undefined : setTimeout(() => ctl.abort(), parseDuration(o.timeout));
      const line = (e: WatchEvent): string => {
        if (format !== "table") return JSON.stringify({ type: e.type, id: e.id ?? null, ...("resource" in e ? { resource: e.resource } : {}) }) + "\n";
        const at = new Date(ctx.io.now()).toISOString();
        if (e.type === "sync") return `${at}  watching (position ${e.id})\n`;
        if (e.type === "reset") return `${at}  reset: changes may have been missed; list again (position ${e.id})\n`;
        const r = e.resource;
        const name = `${r.provider}/${r.resource}/${r.name}`;
        return e.type === "deleted" ? `${at}  deleted  ${name}\n` : `${at}  ${r.lifecycle_state ?? "?"}  ${name}${r.error ? `  ${String(r.error).split("\n")[0]}` : ""}\n`;
      };
      try {
        await watchResources(sessionFor(ctx, cmd).client(), {
          signal: ctl.signal,
          query: { provider: o.provider, resource: o.type, tags: o.tag.length ? o.tag : undefined },
          ...(o.since ? { lastEventId: o.since } : {}),
          onEvent: (e) => write(line(e)),
          onReconnect: (err) => ctx.io.stderr.write(`reconnecting${err instanceof Error ? ` (${err.message})` : ""}\n`),
        });
      } finally {
        if (timer) clearTimeout(timer);
      }
    });

  resources
    .command("get <id>")
    .description("Show one resource (id: provider/resource/name, provider:resource:name or resource:…)")
    .option("--reveal", "show sensitive outputs in clear (admin role only; otherwise they read [REDACTED])")
    .action(async (id: string, o: { reveal?: boolean }, cmd: Command) => {
      const res = await sessionFor(ctx, cmd).client().request<ResourceView>("GET", `/resources/${resourcePath(id)}${o.reveal ? "?reveal=true" : ""}`);
      write(render(res.body, formatOf(cmd), (r) => renderTable([r], RESOURCE_COLUMNS)));
    });

  resources
    .command("describe <id>")
    .description("Show everything about one resource: state, error, dependencies, config and outputs")
    .option("--reveal", "show sensitive outputs in clear (admin role only; otherwise they read [REDACTED])")
    .action(async (id: string, o: { reveal?: boolean }, cmd: Command) => {
      const res = await sessionFor(ctx, cmd).client().request<ResourceView>("GET", `/resources/${resourcePath(id)}${o.reveal ? "?reveal=true" : ""}`);
      write(render(res.body, formatOf(cmd), describeResource));
    });

  resources
    .command("status <id>")
    .description("Show a resource's lifecycle state and error")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const res = await sessionFor(ctx, cmd).client().request<Record<string, unknown>>("GET", `/resources/${resourcePath(id)}/status`);
      write(render(res.body, formatOf(cmd), (b) => renderKeyValues(Object.entries(b ?? {}))));
    });

  resources
    .command("refresh <id>")
    .description("Observe a ready resource's real object now; drift shows in get/list (and is healed under drift_policy heal)")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const res = await sessionFor(ctx, cmd).client().request<Record<string, unknown>>("POST", `/resources/${resourcePath(id)}/refresh`);
      write(render(res.body, formatOf(cmd), (b) => renderKeyValues(Object.entries(b ?? {}))));
    });

  resources
    .command("events <id>")
    .description("Show a resource's history, newest first (the store keeps the newest 100)")
    .option("--limit <n>", "at most this many entries")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const o = optionsOf<{ limit?: string }>(cmd);
      const res = await sessionFor(ctx, cmd).client().request<{ items: HistoryView[] }>("GET", `/resources/${resourcePath(id)}/events`, { query: { limit: o.limit } });
      write(render(res.body, formatOf(cmd), (b) => renderTable(b.items, HISTORY_COLUMNS)));
    });

  resources
    .command("delete <id>")
    .description("Delete a resource (its provider tears it down first; one never provisioned goes at once)")
    .option("--wait", "wait until the resource is gone")
    .option("--timeout <duration>", "with --wait: give up after this long", "300")
    .option("--force", "delete even though other resources depend on it (their references dangle)")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const o = optionsOf<{ wait?: boolean; timeout: string; force?: boolean }>(cmd);
      const timeoutMs = parseDuration(o.timeout);
      const canonical = canonicalResourceId(id);
      const client = sessionFor(ctx, cmd).client();
      const res = await client
        .request<ResourceView | undefined>("DELETE", `/resources/${resourcePath(canonical)}`, { query: { force: o.force ? "true" : undefined } })
        .catch((err: unknown) => {
          // The API's message names the dependents; the flag that overrides it is the CLI's to say.
          if (err instanceof ApiError && err.status === 409 && hasDependents(err.detail)) {
            throw new ApiError(err.status, err.detail, err.code, err.requestId, err.message, "delete the dependents first, or pass --force to delete it anyway");
          }
          throw err;
        });
      if (res.status === 204) {
        write(`${canonical}: deleted\n`);
        return;
      }
      if (!o.wait) {
        write(`${canonical}: deletion requested (${res.body?.lifecycle_state ?? "pending"}); follow it with \`pragma resources status ${id}\`\n`);
        return;
      }
      const progress = createProgress(ctx.io.stdout, liveProgress(ctx, cmd));
      const deadline = ctx.io.now() + timeoutMs;
      try {
        for (;;) {
          const cur = await client.request<ResourceView>("GET", `/resources/${resourcePath(canonical)}`, { allow: [404] });
          if (cur.status === 404) {
            progress.update(canonical, "deleted");
            return;
          }
          if (cur.body.lifecycle_state === "failed") {
            progress.update(canonical, `failed: ${cur.body.error ?? ""}`);
            throw new CliError(`deleting ${canonical} failed: ${cur.body.error ?? "no error recorded"}`, EXIT_FAILURE, "inspect it with `pragma resources describe " + id + "`");
          }
          progress.update(canonical, `deleting (${cur.body.lifecycle_state})`);
          if (ctx.io.now() >= deadline) {
            throw new CliError(`${canonical} still exists after ${Math.round(timeoutMs / 1000)}s (${cur.body.lifecycle_state})`, EXIT_FAILURE, "wait longer with --timeout, or check `pragma ops dead-letter list`");
          }
          await ctx.io.sleep(POLL_MS);
        }
      } finally {
        progress.stop();
      }
    });

  resources
    .command("types")
    .description("List resource types and their schemas")
    .option("--provider <provider>", "only this provider's types")
    .action(async (_opts: unknown, cmd: Command) => {
      const o = optionsOf<{ provider?: string }>(cmd);
      const res = await sessionFor(ctx, cmd).client().request<Record<string, unknown>[]>("GET", "/resources/types", { query: { provider: o.provider } });
      write(
        render(res.body ?? [], formatOf(cmd), (rows) =>
          renderTable(rows, [
            { header: "provider", value: (t) => t.provider },
            { header: "type", value: (t) => t.resource },
            { header: "outputs", value: (t) => Object.keys(((t.outputs_schema as { properties?: object } | undefined)?.properties ?? {}) as object) },
            { header: "description", value: (t) => cell(t.description) },
          ]),
        ),
      );
    });
}

function hasDependents(detail: unknown): boolean {
  return typeof detail === "object" && detail !== null && Array.isArray((detail as { dependents?: unknown }).dependents);
}
