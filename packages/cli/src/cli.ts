import { Command, CommanderError, Option } from "commander";
import { registerApiKeys } from "./commands/api-keys";
import { registerAuth } from "./commands/auth";
import { registerConfig } from "./commands/config";
import { registerData } from "./commands/data";
import { registerOps } from "./commands/ops";
import { registerOrgs } from "./commands/orgs";
import { registerProjects } from "./commands/projects";
import { registerProviders } from "./commands/providers";
import { registerResources } from "./commands/resources";
import type { CommandContext } from "./commands/shared";
import { ApiError, CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from "./errors";
import type { Io } from "./io";
import { OUTPUT_FORMATS } from "./output";

export const VERSION = "0.1.0";

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command("pragma");
  // Set before any subcommand is added: commander copies these settings to children.
  program
    .description("Command line for the pragma control plane (talks only to its public HTTP API)")
    .version(VERSION)
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
    })
    .showHelpAfterError("(run with --help for usage)")
    .addOption(new Option("-o, --output <format>", "output format for reads").choices([...OUTPUT_FORMATS]))
    .option("--context <name>", "use this context instead of the current one (or PRAGMA_CONTEXT)")
    .option("--api-url <url>", "gateway URL, overriding the context (or PRAGMA_API_URL)")
    .option("--token <jwt>", "bearer token, overriding PRAGMA_AUTH_TOKEN and stored credentials")
    .option("--project <id>", "project (X-Project-Id), overriding PRAGMA_PROJECT_ID and the context")
    .option("--space <id>", "space (X-Space-Id), overriding PRAGMA_SPACE_ID and the context")
    .option("--no-progress", "no spinner or live progress lines");

  registerConfig(program, ctx);
  registerAuth(program, ctx);
  registerOrgs(program, ctx);
  registerProjects(program, ctx);
  registerApiKeys(program, ctx);
  registerResources(program, ctx);
  registerOps(program, ctx);
  registerData(program, ctx);
  registerProviders(program, ctx);
  return program;
}

/** Runs one command line and returns the exit code; never calls process.exit, so tests can run it in-process. */
export async function run(args: readonly string[], io: Io): Promise<number> {
  let exitCode = EXIT_OK;
  const ctx: CommandContext = { io, setExitCode: (code) => (exitCode = code) };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...args], { from: "user" });
    return exitCode;
  } catch (err) {
    return reportError(err, io);
  }
}

export function reportError(err: unknown, io: Io): number {
  if (err instanceof CommanderError) {
    // Commander has already printed its message; help and --version are not failures.
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return EXIT_OK;
    // `pragma resources` without a subcommand prints help as an error (exitCode 1): still a usage error.
    if (err.code === "commander.help") return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    return EXIT_USAGE;
  }
  if (err instanceof CliError) {
    let text = `error: ${err.message}\n`;
    if (err instanceof ApiError && err.requestId) text += `request id: ${err.requestId}\n`;
    if (err.hint) text += `hint: ${err.hint}\n`;
    io.stderr.write(text);
    return err.exitCode;
  }
  const e = err as Error;
  io.stderr.write(`error: unexpected failure: ${e?.stack ?? String(err)}\n`);
  return EXIT_FAILURE;
}
