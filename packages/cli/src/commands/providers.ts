import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { PROVIDER_ID_RE } from "@pragma/contracts";
import { CliError, UsageError } from "../errors";
import { render, renderKeyValues, renderTable } from "../output";
import { packProvider } from "../providers/pack";
import { scaffoldFiles } from "../providers/scaffold";
import { formatOf, optionsOf, sessionFor, type CommandContext } from "./shared";

type Row = Record<string, unknown>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The provider id: --name, else the package directory's package.json "pragma.provider", else the directory name. */
function providerIdOf(dir: string, name: string | undefined): string {
  const id = name ?? path.basename(path.resolve(dir)).replace(/-provider$/, "");
  if (!PROVIDER_ID_RE.test(id)) throw new UsageError(`provider id "${id}" must match ${PROVIDER_ID_RE.source}`, "pass --name ID");
  return id;
}

export function registerProviders(program: Command, ctx: CommandContext): void {
  const providers = program.command("providers").description("Your own providers: scaffold, push, build, deploy (api.md §6)");
  const write = (s: string) => ctx.io.stdout.write(s);
  const client = (cmd: Command) => sessionFor(ctx, cmd).client();
  const idOf = (id: string) => {
    if (!PROVIDER_ID_RE.test(id)) throw new UsageError(`provider id "${id}" must match ${PROVIDER_ID_RE.source}`);
    return encodeURIComponent(id);
  };

  providers
    .command("init <dir>")
    .description("Scaffold a provider package that builds and runs as is")
    .requiredOption("--name <id>", "provider id (lowercase, e.g. my-tools)")
    .action(async (dir: string, _o: unknown, cmd: Command) => {
      const { name } = optionsOf<{ name: string }>(cmd);
      idOf(name);
      if (existsSync(dir) && readdirSync(dir).length > 0) throw new UsageError(`${dir} exists and is not empty`);
      for (const [file, content] of Object.entries(scaffoldFiles(name))) {
        mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        writeFileSync(path.join(dir, file), content);
      }
      write(`Created provider "${name}" in ${dir}\nNext: pragma providers push ${dir} --name ${name} --deploy --wait\n`);
    });

  providers
    .command("push <dir>")
    .description("Pack DIR, upload it and start a build")
    .option("--name <id>", "provider id (default: the directory name)")
    .option("--deploy", "deploy the build when it succeeds")
    .option("--wait", "wait for the build (and deployment) to finish; on failure print the build log")
    .option("--timeout <seconds>", "with --wait: give up after this long", "300")
    .action(async (dir: string, _o: unknown, cmd: Command) => {
      const o = optionsOf<{ name?: string; deploy?: boolean; wait?: boolean; timeout: string }>(cmd);
      if (!existsSync(path.join(dir, "package.json"))) throw new UsageError(`${dir} has no package.json`, "run `pragma providers init DIR --name ID` first");
      const id = providerIdOf(dir, o.name);
      const bytes = await packProvider(dir);
      const form = new FormData();
      if (o.deploy) form.append("deploy", "true");
      form.append("code", new Blob([bytes], { type: "application/gzip" }), `${id}.tgz`);
      const c = client(cmd);
      const res = await c.request<{ version: string; status: string; message: string }>("POST", `/providers/${idOf(id)}/push`, { body: form });
      const { version } = res.body;
      if (!o.wait) {
        write(render(res.body, formatOf(cmd), (b) => `Pushed ${id} ${b.version} (${bytes.length} bytes): ${b.message}\n`));
        return;
      }
      ctx.io.stderr.write(`Pushed ${id} ${version} (${bytes.length} bytes); building…\n`);
      const deadline = Date.now() + Number(o.timeout) * 1000;
      let last = "";
      let build: Row = {};
      while (Date.now() < deadline) {
        build = (await c.request<Row>("GET", `/providers/${idOf(id)}/builds/${version}`)).body;
        if (build.status !== last) ctx.io.stderr.write(`build ${version}: ${(last = String(build.status))}\n`);
        if (build.status === "success" || build.status === "failed") break;
        await sleep(500);
      }
      if (build.status === "failed") {
        const log = await c.request<string>("GET", `/providers/${idOf(id)}/builds/${version}/logs`);
        ctx.io.stderr.write(`${String(log.body ?? "")}`);
        throw new CliError(`build ${version} failed: ${String(build.error_message)}`);
      }
      if (build.status !== "success") throw new CliError(`build ${version} did not finish in ${o.timeout}s`);
      let deployment: Row | undefined;
      if (o.deploy) {
        while (Date.now() < deadline) {
          const d = await c.request<Row>("GET", `/providers/${idOf(id)}/deployment`, { allow: [404] });
          if (d.status === 200 && d.body.version === version && d.body.healthy) {
            deployment = d.body;
            break;
          }
          await sleep(500);
        }
        if (!deployment) throw new CliError(`deployment of ${version} not healthy within ${o.timeout}s`, 1, `pragma providers status ${id}`);
      }
      write(render({ ...build, ...(deployment ? { deployment } : {}) }, formatOf(cmd), () => `Built ${id} ${version}${deployment ? " and deployed it (healthy)" : ""}\n`));
    });

  providers
    .command("list")
    .description("Your org's providers and the built-in ones")
    .action(async (_o: unknown, cmd: Command) => {
      const res = await client(cmd).request<Row[]>("GET", "/providers");
      write(
        render(res.body, formatOf(cmd), (rows) =>
          renderTable(rows, [
            { header: "provider", value: (p) => p.provider_id },
            { header: "version", value: (p) => (p.builtin ? "built-in" : p.current_version ?? "") },
            { header: "status", value: (p) => p.deployment_status },
            { header: "updated", value: (p) => p.updated_at ?? "" },
          ]),
        ),
      );
    });

  providers
    .command("builds <id>")
    .description("The latest 10 builds, newest first")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const res = await client(cmd).request<Row[]>("GET", `/providers/${idOf(id)}/builds`);
      write(
        render(res.body, formatOf(cmd), (rows) =>
          rows.length
            ? renderTable(rows, [
                { header: "version", value: (b) => b.version },
                { header: "status", value: (b) => b.status },
                { header: "created", value: (b) => b.created_at },
                { header: "error", value: (b) => b.error_message ?? "" },
              ])
            : "No builds\n",
        ),
      );
    });

  providers
    .command("logs <id> <version>")
    .description("A build's whole log")
    .action(async (id: string, version: string, _o: unknown, cmd: Command) => {
      const res = await client(cmd).request<string>("GET", `/providers/${idOf(id)}/builds/${encodeURIComponent(version)}/logs`);
      write(String(res.body ?? ""));
    });

  providers
    // The version is positional: `--version` is the program's own flag (pragma --version).
    .command("deploy <id> [version]")
    .description("Deploy a successful build (default: the latest); an older version is a rollback")
    .action(async (id: string, version: string | undefined, _o: unknown, cmd: Command) => {
      const res = await client(cmd).request<Row>("POST", `/providers/${idOf(id)}/deploy`, { body: version ? { version } : {} });
      write(render(res.body, formatOf(cmd), (d) => `Deployed ${id} ${d.version} (${d.healthy ? "healthy" : "not answering yet"})\n`));
    });

  providers
    .command("status <id>")
    .description("The deployed version and whether a worker runs it")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const res = await client(cmd).request<Row>("GET", `/providers/${idOf(id)}/deployment`);
      write(render(res.body, formatOf(cmd), (d) => renderKeyValues(Object.entries(d))));
      if (!res.body.healthy) ctx.setExitCode(1);
    });

  providers
    .command("delete <id>")
    .description("Delete a provider (refused while it has resources, unless --cascade)")
    .option("--cascade", "delete its resources first, through their lifecycle")
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { cascade } = optionsOf<{ cascade?: boolean }>(cmd);
      const res = await client(cmd).request<Row>("DELETE", `/providers/${idOf(id)}`, { query: { cascade: cascade ? "true" : undefined } });
      write(
        render(res.body, formatOf(cmd), (d) =>
          Number(d.resources_deleted) > 0 ? `Deleting ${id}: ${d.resources_deleted} resource(s) queued for deletion; the provider goes when they are gone\n` : `Deleted ${id}\n`,
        ),
      );
    });
}
