import type { Command } from "commander";
import type { Io } from "../io";
import { parseFormat, type OutputFormat } from "../output";
import { Session, type GlobalOptions } from "../session";

/** What every command group gets: the outside world and a way to fail without throwing. */
export interface CommandContext {
  io: Io;
  setExitCode(code: number): void;
}

export function optionsOf<T = Record<string, unknown>>(cmd: Command): GlobalOptions & T {
  return cmd.optsWithGlobals() as GlobalOptions & T;
}

export function sessionFor(ctx: CommandContext, cmd: Command): Session {
  return new Session(ctx.io, optionsOf(cmd));
}

export function formatOf(cmd: Command): OutputFormat {
  return parseFormat(optionsOf(cmd).output);
}

/** A spinner only when a human watches: stdout is a TTY and --no-progress was not given. */
export function liveProgress(ctx: CommandContext, cmd: Command): boolean {
  return Boolean(ctx.io.stdout.isTTY) && optionsOf(cmd).progress !== false;
}

/** Commander hands the action its Command last; this gives it to us typed. */
export function commandOf(args: unknown[]): Command {
  return args[args.length - 1] as Command;
}

export const collect = (value: string, previous: string[] = []) => [...previous, value];
