/**
 * The `oshirase` program: every command group of cli/ registered on one
 * commander program, and the mapping of errors to exit codes
 * (0 done, 1 failed, 2 a usage mistake or refused input or settings).
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/engine-config';
import { InvalidInputError } from '../engine/intake/life-event-schema';
import { RuleValidationError } from '../engine/rule-language/load-rules';
import { UnknownResidentError } from '../engine/rule-language/explain-resident';
import { attachCommand, helpText, UsageError, type CliCommand } from './cli-support';
import { createCommandContext, type CommandContext } from './command-context';
import { EVENT_COMMANDS } from './event-commands';
import { OUTREACH_COMMANDS } from './outreach-commands';
import { CONSENT_COMMANDS } from './consent-commands';
import { RESIDENT_COMMANDS } from './resident-commands';
import { TASK_COMMANDS } from './task-commands';
import { POPULATION_COMMANDS } from './population-commands';
import { DEMO_COMMANDS } from './demo-commands';
import { RULES_COMMANDS } from './rules-commands';
import { SCHEDULE_COMMANDS } from './schedule-commands';
import { RETENTION_COMMANDS } from './retention-commands';
import { TEMPLATE_COMMANDS } from './template-commands';
import { BOUNCE_COMMANDS } from './bounce-commands';
import { LETTER_COMMANDS } from './letter-commands';
import { AUDIT_COMMANDS } from './audit-commands';
import { SERVICE_COMMANDS } from './service-commands';
import { TAKEUP_COMMANDS } from './takeup-commands';

/** Every command, in the order the overview lists them. */
export const ALL_COMMANDS: readonly CliCommand[] = [
  ...EVENT_COMMANDS,
  ...OUTREACH_COMMANDS,
  ...CONSENT_COMMANDS,
  ...RESIDENT_COMMANDS,
  ...TASK_COMMANDS,
  ...POPULATION_COMMANDS,
  ...DEMO_COMMANDS,
  ...RULES_COMMANDS,
  ...SCHEDULE_COMMANDS,
  ...RETENTION_COMMANDS,
  ...TEMPLATE_COMMANDS,
  ...BOUNCE_COMMANDS,
  ...LETTER_COMMANDS,
  ...AUDIT_COMMANDS,
  ...SERVICE_COMMANDS,
  ...TAKEUP_COMMANDS,
];

export function overview(): string {
  return [
    'oshirase — proactive notices for life events',
    '',
    'Commands:',
    ...ALL_COMMANDS.map((c) => `  ${c.name.padEnd(21)} ${c.summary}`),
    '',
    'Run `oshirase COMMAND --help` for its options. Settings come from the environment (see README.md):',
    'DATABASE_URL (else the embedded PGlite in .oshirase/pgdata), TEMPORAL_ADDRESS, SMTP_URLS, OSHIRASE_MS_PER_DAY, …',
  ].join('\n');
}

interface Program {
  program: Command;
  /** Each command's commander object, by its name (for its help text in a usage error). */
  commands: Map<string, Command>;
  /** The command that ran and its exit code, once it has. */
  ran: { name: string | null; code: number };
}

/** Builds the commander program: one subcommand per word (`letters` → `batch` → `close`), actions running with `ctx`. */
export function buildProgram(ctx: CommandContext): Program {
  const program = new Command('oshirase')
    .exitOverride()
    .configureOutput({ writeOut: (text) => void process.stdout.write(text), writeErr: () => {}, outputError: () => {} })
    .helpCommand(false);
  const commands = new Map<string, Command>();
  const ran: Program['ran'] = { name: null, code: 0 };
  const groups = new Map<string, Command>([['', program]]);
  for (const command of ALL_COMMANDS) {
    const words = command.name.split(' ');
    let parent = program;
    for (let i = 0; i < words.length - 1; i++) {
      const path = words.slice(0, i + 1).join(' ');
      let group = groups.get(path);
      if (!group) {
        group = parent.command(words[i]!).description(`the ${path} commands`).helpCommand(false);
        groups.set(path, group);
      }
      parent = group;
    }
    const leaf = attachCommand(parent.command(words.at(-1)!), command, ctx, (code) => {
      ran.code = code;
    });
    // The name is known before the action runs, so an error thrown by it is reported under it.
    leaf.hook('preAction', () => {
      ran.name = command.name;
    });
    commands.set(command.name, leaf);
  }
  return { program, commands, ran };
}

/**
 * Runs `oshirase ARGV…` and returns the exit code; the error, if any, is one line on stderr.
 * `context` is made on first use (tests hand in their own: tests/fuzz-cli.test.ts).
 */
export async function main(argv: string[], context: () => CommandContext = createCommandContext): Promise<number> {
  const [first, second] = argv;
  if (!first || first === '--help' || first === '-h' || first === 'help') return print(overview());
  const ctx = context();
  const { program, commands, ran } = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ran.code;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed') return 0;
      // Not a command (`oshirase nope`, `oshirase rules nope`, a group alone): the overview.
      process.stderr.write(`oshirase: unknown command "${[first, second].filter(Boolean).join(' ')}"\n\n${overview()}\n`);
      return 2;
    }
    if (error instanceof UsageError) {
      const command = commands.get(error.command);
      process.stderr.write(`oshirase ${error.command}: ${error.message}\n${command ? `\n${helpText(command)}` : ''}`);
      return 2;
    }
    const name = ran.name ?? first;
    if (error instanceof InvalidInputError || error instanceof RuleValidationError || error instanceof ConfigError) {
      process.stderr.write(`oshirase ${name}: ${error.message}\n`);
      return 2;
    }
    if (error instanceof UnknownResidentError) {
      process.stderr.write(`oshirase ${name}: ${error.message}\n`);
      return 1;
    }
    process.stderr.write(`oshirase ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  } finally {
    await ctx.close().catch(() => {});
  }
}

function print(text: string): 0 {
  process.stdout.write(`${text}\n`);
  return 0;
}
