import { Command, CommanderError, type OptionValues } from 'commander';
import { isoDate } from '../engine/rule-language/rule-schema';
import type { CommandContext } from './command-context';

/** A mistake in how a command was called: printed as one line with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
  }
}

/** What a command's action receives: its positional arguments as given and its parsed options. */
export interface CommandInput<O extends OptionValues> {
  args: string[];
  opts: O;
}

/**
 * One command of the `oshirase` CLI, declared once and run either from the
 * program (cli/program.ts) or directly with an argv (tests, other tools).
 */
export interface CliCommand {
  /** Its words, e.g. `rules validate` or `letters batch close`. */
  readonly name: string;
  readonly summary: string;
  /** The part of the usage line after the command's name. */
  readonly usage: string;
  /** Adds this command's options and arguments to `cmd` (commander). */
  configure(cmd: Command): void;
  run(input: CommandInput<OptionValues>, ctx: CommandContext): Promise<number>;
  /** Parses `argv` (what follows the command's name) and runs the command; usage mistakes throw UsageError. */
  invoke(argv: string[], ctx: CommandContext): Promise<number>;
}

export interface CommandDefinition<O extends OptionValues> {
  name: string;
  summary: string;
  usage: string;
  /** commander's argument syntax, e.g. `[RULE_ID]` or `[FILES...]`; shown in --help. Extra arguments are allowed, as before. */
  arguments?: string;
  /** Declares the options; their parsed values arrive typed as `O`. */
  options?: (cmd: Command) => Command;
  run(input: CommandInput<O>, ctx: CommandContext): Promise<number>;
}

export function defineCommand<O extends OptionValues = Record<string, never>>(definition: CommandDefinition<O>): CliCommand {
  const command: CliCommand = {
    name: definition.name,
    summary: definition.summary,
    usage: definition.usage,
    configure(cmd) {
      cmd.description(definition.summary).usage(definition.usage).allowExcessArguments(true);
      if (definition.arguments) cmd.arguments(definition.arguments);
      definition.options?.(cmd);
    },
    run: (input, ctx) => definition.run(input as CommandInput<O>, ctx),
    async invoke(argv, ctx) {
      let code = 0;
      const cmd = new Command(`oshirase ${definition.name}`);
      attachCommand(cmd, command, ctx, (c) => void (code = c));
      cmd.configureOutput({ writeOut: (text) => void ctx.print(text.replace(/\n$/, '')), writeErr: () => {}, outputError: () => {} });
      try {
        await cmd.parseAsync(argv, { from: 'user' });
      } catch (error) {
        if (error instanceof CommanderError && error.code === 'commander.helpDisplayed') return 0;
        throw error;
      }
      return code;
    },
  };
  return command;
}

/**
 * Makes `cmd` run `command`: its options and arguments, and commander's own
 * mistakes (an unknown option, a missing value) turned into UsageError naming the command.
 */
export function attachCommand(cmd: Command, command: CliCommand, ctx: CommandContext, done: (code: number) => void): Command {
  command.configure(cmd);
  cmd.helpCommand(false);
  cmd.exitOverride((error) => {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') throw error;
    throw new UsageError(command.name, error.message.replace(/^error: /, ''));
  });
  cmd.action(async (...params: unknown[]) => {
    // commander passes the declared arguments, then the options, then the command itself.
    const self = params.at(-1) as Command;
    done(await command.run({ args: self.args, opts: self.opts() }, ctx));
  });
  return cmd;
}

/** A command's --help text (commander's: usage line, summary, options). */
export function helpText(cmd: Command): string {
  return cmd.helpInformation();
}

export function requireOption(command: string, name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(command, `--${name} is required`);
  return value;
}

/** An optional `--date YYYY-MM-DD`: undefined when absent, a usage error naming the flag when malformed. */
export function optionalDateOption(command: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const parsed = isoDate.safeParse(value);
  if (!parsed.success) throw new UsageError(command, `--date: "${String(value)}" is not a date (YYYY-MM-DD)`);
  return parsed.data;
}
