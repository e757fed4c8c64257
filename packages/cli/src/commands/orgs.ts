import type { Command } from "commander";
import { CreateOrgBody } from "@pragma/contracts";
import { newUlid } from "@pragma/ids";
import { validationError, zodProblems } from "../documents";
import { render, renderKeyValues } from "../output";
import { formatOf, optionsOf, sessionFor, type CommandContext } from "./shared";

export function registerOrgs(program: Command, ctx: CommandContext): void {
  const orgs = program.command("orgs").description("System API: organizations (needs --server-key or PRAGMA_SERVER_KEY)");

  orgs
    .command("create")
    .description("Create an organization; repeating it with the same --org-id is safe (208)")
    .option("--org-id <ulid>", "client-chosen ULID (default: a new one)")
    .requiredOption("--name <name>", "display name")
    .requiredOption("--abbreviation <slug>", "unique lowercase slug")
    .requiredOption("--admin-email <email>", "administrator's email")
    .requiredOption("--admin-name <name>", "administrator's name")
    .requiredOption("--address <address>", "postal address")
    .requiredOption("--state <state>", "state or region")
    .requiredOption("--country <country>", "country")
    .requiredOption("--pin-code <code>", "postal code")
    .option("--server-key <key>", "system key (or PRAGMA_SERVER_KEY)")
    .action(async (_opts: unknown, cmd: Command) => {
      const o = optionsOf<Record<string, string>>(cmd);
      const body = {
        org_id: o.orgId ?? newUlid(),
        name: o.name,
        abbreviation: o.abbreviation,
        admin_email: o.adminEmail,
        admin_name: o.adminName,
        address: o.address,
        state: o.state,
        country: o.country,
        pin_code: o.pinCode,
      };
      const parsed = CreateOrgBody.safeParse(body);
      if (!parsed.success) throw validationError("the organization", zodProblems(parsed.error.issues));
      const res = await sessionFor(ctx, cmd).client({ scoped: false }).request<Record<string, unknown>>("POST", "/orgs", { auth: "server-key", body });
      const created = res.status === 201;
      ctx.io.stdout.write(
        render(res.body, formatOf(cmd), (b) =>
          `${created ? "Created" : "Already exists (208): using the stored organization"}\n` + renderKeyValues(Object.entries(b ?? {})),
        ),
      );
    });
}
