import type { Command } from "commander";
import { UsageError } from "../errors";
import { render, renderKeyValues } from "../output";
import { formatOf, optionsOf, sessionFor, type CommandContext } from "./shared";

export function registerAuth(program: Command, ctx: CommandContext): void {
  const auth = program.command("auth").description("Log in with an API key, inspect or drop the stored credentials");

  auth
    .command("login")
    .description("Exchange an API key for a token and store both for the current context (file mode 0600)")
    .option("--api-key <key>", "the pk_… key (or set PRAGMA_API_KEY)")
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = optionsOf<{ apiKey?: string }>(cmd);
      const apiKey = opts.apiKey ?? ctx.io.env.PRAGMA_API_KEY;
      if (!apiKey) throw new UsageError("an API key is required", "pass --api-key pk_… or set PRAGMA_API_KEY");
      const session = sessionFor(ctx, cmd);
      let name = session.contextName();
      // First use with only --api-url: create a context so the login has somewhere to live.
      if (!name && opts.apiUrl) {
        const file = session.store.readConfig();
        name = "default";
        file.contexts[name] = { api_url: opts.apiUrl.replace(/\/+$/, "") };
        file.current_context = name;
        session.store.writeConfig(file);
      }
      const token = await session.login(apiKey);
      const expires = new Date(ctx.io.now() + token.expires_in * 1000).toISOString();
      ctx.io.stdout.write(`Logged in to context "${session.contextName()}" (${session.apiUrl()}); token valid until ${expires}\n`);
    });

  auth
    .command("whoami")
    .description("Show who the current credentials act as (GET /auth/me)")
    .action(async (_opts: unknown, cmd: Command) => {
      const res = await sessionFor(ctx, cmd).client().request<Record<string, unknown>>("GET", "/auth/me");
      ctx.io.stdout.write(render(res.body, formatOf(cmd), (b) => renderKeyValues(Object.entries(b ?? {}))));
    });

  auth
    .command("logout")
    .description("Forget the current context's stored key and token")
    .action((_opts: unknown, cmd: Command) => {
      const session = sessionFor(ctx, cmd);
      const name = session.contextName();
      if (!name || !session.store.credentialsFor(name)) {
        ctx.io.stdout.write("Not logged in\n");
        return;
      }
      session.store.saveCredentials(name, undefined);
      ctx.io.stdout.write(`Logged out of context "${name}"\n`);
    });
}
