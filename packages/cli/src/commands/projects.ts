import type { Command } from "commander";
import YAML from "yaml";
import { CreateProjectBody } from "@pragma/contracts";
import { readInput, validationError, zodProblems } from "../documents";
import { CliError, UsageError } from "../errors";
import { render, renderKeyValues } from "../output";
import { formatOf, optionsOf, sessionFor, type CommandContext } from "./shared";
import { HTTP_HEADERS } from "@pragma/contracts";

export function registerProjects(program: Command, ctx: CommandContext): void {
  const projects = program.command("projects").description("Projects of an organization (System API key or an admin token)");

  projects
    .command("create")
    .description("Create a project (and its default space) from a YAML/JSON file; 208 means it already existed")
    .requiredOption("--org <org_id>", "organization id")
    .requiredOption("-f, --file <file>", "project document: name, abbreviation, description?, database[] (`-` for stdin)")
    .option("--verify", "connect to each database before accepting the project")
    .option("--use", "store the project and space ids in the current context")
    .option("--server-key <key>", "system key (or PRAGMA_SERVER_KEY); without it an admin token is used")
    .action(async (_opts: unknown, cmd: Command) => {
      const o = optionsOf<{ org: string; file: string; verify?: boolean; use?: boolean }>(cmd);
      let doc: unknown;
      try {
        doc = YAML.parse(await readInput(ctx.io, o.file));
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new UsageError(`${o.file}: invalid YAML: ${(err as Error).message.split("\n")[0]}`);
      }
      const parsed = CreateProjectBody.safeParse(doc);
      if (!parsed.success) throw validationError(o.file, zodProblems(parsed.error.issues));

      const session = sessionFor(ctx, cmd);
      const res = await session.client({ scoped: false }).request<Record<string, unknown>>("POST", `/orgs/${encodeURIComponent(o.org)}/projects`, {
        auth: session.serverKey() ? "server-key" : "bearer",
        body: doc,
        query: { verify: o.verify ? "true" : undefined },
      });
      const projectId = (res.body?.project_id as string | undefined) ?? res.headers.get(HTTP_HEADERS.projectId) ?? undefined;
      const spaceId = (res.body?.space_id as string | undefined) ?? res.headers.get(HTTP_HEADERS.spaceId) ?? undefined;
      ctx.io.stdout.write(
        render({ ...res.body, project_id: projectId, space_id: spaceId } as Record<string, unknown>, formatOf(cmd), (b) =>
          `${res.status === 201 ? "Created" : "Already exists (208): using the stored project"}\n` +
          renderKeyValues([
            ["project_id", b.project_id],
            ["space_id", b.space_id],
            ["name", b.name],
            ["abbreviation", b.abbreviation],
          ]),
        ),
      );
      if (o.use) {
        const name = session.contextName();
        const file = session.store.readConfig();
        const current = name ? file.contexts[name] : undefined;
        if (!name || !current) throw new CliError("no current context to store the ids in", 1, "create one with `pragma config set-context NAME --api-url URL`");
        file.contexts[name] = { ...current, project: projectId, space: spaceId };
        session.store.writeConfig(file);
        // stderr, so `-o json` stays machine-readable.
        ctx.io.stderr.write(`Context "${name}" now uses project ${projectId}, space ${spaceId}\n`);
      }
    });
}
