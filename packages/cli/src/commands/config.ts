import type { Command } from "commander";
import { ConfigStore, configDir } from "../config-store";
import { CliError, UsageError } from "../errors";
import { render, renderTable } from "../output";
import { formatOf, optionsOf, type CommandContext } from "./shared";

function storeOf(ctx: CommandContext): ConfigStore {
  return new ConfigStore(configDir(ctx.io.env, ctx.io.homedir()));
}

function validateUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http");
  } catch {
    throw new UsageError(`"${url}" is not an http(s) URL`, "e.g. --api-url http://localhost:8080");
  }
  return url.replace(/\/+$/, "");
}

export function registerConfig(program: Command, ctx: CommandContext): void {
  const config = program.command("config").description("Manage contexts (API URL, project and space) in the config file");

  config
    .command("set-context <name>")
    .description("Create or update a context; the first one created becomes current")
    .option("--api-url <url>", "gateway base URL, e.g. http://localhost:8080")
    .option("--project <id>", "default project (sent as X-Project-Id)")
    .option("--space <id>", "default space (sent as X-Space-Id)")
    .action((name: string, _opts: unknown, cmd: Command) => {
      const opts = optionsOf(cmd);
      const store = storeOf(ctx);
      const file = store.readConfig();
      const existing = file.contexts[name];
      if (!existing && !opts.apiUrl) throw new UsageError(`context "${name}" does not exist yet: --api-url is required`);
      const apiUrl = opts.apiUrl ? validateUrl(opts.apiUrl) : existing!.api_url;
      const next = { ...existing, api_url: apiUrl };
      if (opts.project !== undefined) next.project = opts.project;
      if (opts.space !== undefined) next.space = opts.space;
      file.contexts[name] = next;
      if (!file.current_context) file.current_context = name;
      store.writeConfig(file);
      // A token and key belong to the server that issued them; never send them to a new URL.
      if (existing && existing.api_url !== apiUrl && store.credentialsFor(name)) {
        store.saveCredentials(name, undefined);
        ctx.io.stdout.write(`API URL changed: stored credentials for "${name}" removed; run \`pragma auth login\` again\n`);
      }
      ctx.io.stdout.write(`Context "${name}" ${existing ? "updated" : "created"}${file.current_context === name ? " (current)" : ""}\n`);
    });

  config
    .command("use-context <name>")
    .description("Make a context current")
    .action((name: string) => {
      const store = storeOf(ctx);
      const file = store.readConfig();
      if (!file.contexts[name]) {
        const known = Object.keys(file.contexts);
        throw new UsageError(`no context named "${name}"`, known.length ? `known contexts: ${known.join(", ")}` : "create one with `pragma config set-context NAME --api-url URL`");
      }
      file.current_context = name;
      store.writeConfig(file);
      ctx.io.stdout.write(`Switched to context "${name}"\n`);
    });

  config
    .command("get-contexts")
    .description("List contexts")
    .action((_opts: unknown, cmd: Command) => {
      const file = storeOf(ctx).readConfig();
      const rows = Object.entries(file.contexts).map(([name, c]) => ({ name, current: name === file.current_context, ...c }));
      ctx.io.stdout.write(
        render(rows, formatOf(cmd), (r) =>
          renderTable(r, [
            { header: "current", value: (x) => (x.current ? "*" : "") },
            { header: "name", value: (x) => x.name },
            { header: "api url", value: (x) => x.api_url },
            { header: "project", value: (x) => x.project },
            { header: "space", value: (x) => x.space },
          ]),
        ),
      );
    });

  config
    .command("current-context")
    .description("Print the current context's name")
    .action(() => {
      const current = storeOf(ctx).readConfig().current_context;
      if (!current) throw new CliError("no current context", 1, "create one with `pragma config set-context NAME --api-url URL`");
      ctx.io.stdout.write(`${current}\n`);
    });

  config
    .command("delete-context <name>")
    .description("Remove a context and its stored credentials")
    .action((name: string) => {
      const store = storeOf(ctx);
      const file = store.readConfig();
      if (!file.contexts[name]) throw new UsageError(`no context named "${name}"`);
      delete file.contexts[name];
      if (file.current_context === name) file.current_context = undefined;
      store.writeConfig(file);
      if (store.credentialsFor(name)) store.saveCredentials(name, undefined);
      ctx.io.stdout.write(`Context "${name}" deleted\n`);
    });
}
