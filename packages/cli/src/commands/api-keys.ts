import type { Command } from "commander";
import { CreateApiKeyBody } from "@pragma/contracts";
import { validationError, zodProblems } from "../documents";
import { render, renderKeyValues } from "../output";
import { formatOf, optionsOf, sessionFor, type CommandContext } from "./shared";

export function registerApiKeys(program: Command, ctx: CommandContext): void {
  const keys = program.command("api-keys").description("API keys of an organization (System API key or an admin token)");

  keys
    .command("create")
    .description("Create an API key; the secret is shown once")
    .requiredOption("--org <org_id>", "organization id")
    .requiredOption("--name <name>", "a name to recognise the key by")
    .requiredOption("--role <role>", "admin | member | operator")
    .option("--project <id>", "bind the key to a project (its tokens default to it)")
    .option("--space <id>", "bind the key to a space")
    .option("--server-key <key>", "system key (or PRAGMA_SERVER_KEY); without it an admin token is used")
    .action(async (_opts: unknown, cmd: Command) => {
      const o = optionsOf<{ org: string; name: string; role: string }>(cmd);
      const body = { name: o.name, role: o.role, project_id: o.project, space_id: o.space };
      const parsed = CreateApiKeyBody.safeParse(body);
      if (!parsed.success) throw validationError("the API key", zodProblems(parsed.error.issues));
      const session = sessionFor(ctx, cmd);
      const res = await session.client({ scoped: false }).request<Record<string, unknown>>("POST", `/orgs/${encodeURIComponent(o.org)}/api-keys`, {
        auth: session.serverKey() ? "server-key" : "bearer",
        body: parsed.data,
      });
      ctx.io.stdout.write(
        render(res.body, formatOf(cmd), (b) => renderKeyValues(Object.entries(b ?? {})) + "\nStore the api_key now: it is not shown again. Log in with `pragma auth login --api-key <api_key>`.\n"),
      );
    });
}
