/**
 * `oshirase population …`: a synthetic population for benchmarks and simulations.
 *   oshirase population generate --residents N [--seed S] [--prefix P] [--date YYYY-MM-DD] [--replace]
 *   oshirase population clear [--prefix P]
 */
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema';
import { PURPOSE_IDS } from '../engine/rule-language/attribute-catalog';
import { isIsoDate, todayInTokyo } from '../foundation/tokyo-calendar';
import {
  checkIdPrefix,
  clearPopulation,
  DEFAULT_ID_PREFIX,
  describePopulation,
  generatePopulation,
  MAX_RESIDENTS,
  type PopulationResult,
} from '../dev/population/generate-population';
import { defineCommand, UsageError, type CliCommand } from './cli-support';
import type { CommandContext } from './command-context';
import { terminalProgressBar, type ProgressStream } from './progress-bar';

export type { ProgressStream } from './progress-bar';

export interface PopulationCommandDeps {
  db: Kysely<Database>;
  out: (line: string) => void;
  err: (line: string) => void;
  /** Where the progress goes: stderr unless a test supplies its own. */
  progress?: ProgressStream;
  /** Clock for rates and ETA; injectable so tests need not wait. */
  now?: () => number;
}

interface GenerateOptions {
  residents?: string;
  seed?: string;
  prefix?: string;
  date?: string;
  replace?: boolean;
}

/** The population commands, working on what `depsOf` gives them (the engine's database from the CLI; a test's own). */
function populationCommands(depsOf: (ctx: CommandContext) => Promise<PopulationCommandDeps>): { generate: CliCommand; clear: CliCommand } {
  const generate = defineCommand<GenerateOptions>({
    name: 'population generate',
    summary: 'Fill the database with a synthetic, deterministic population of a Japanese city (for simulations and benchmarks).',
    usage: '--residents N [--seed S] [--prefix P] [--date YYYY-MM-DD] [--replace]',
    options: (cmd) =>
      cmd
        .option('--residents <n>', `how many residents, 1 to ${MAX_RESIDENTS.toLocaleString('en-US')}`)
        .option('--seed <s>', 'integer seed (default 1): the same seed and date give the same residents')
        .option('--prefix <p>', `id prefix (default ${DEFAULT_ID_PREFIX}): residents ${DEFAULT_ID_PREFIX}0000001…, households ${DEFAULT_ID_PREFIX}HH000001…`)
        .option('--date <date>', 'reference date for ages and recent events (default today in Asia/Tokyo)')
        .option('--replace', 'remove an existing population with the same prefix first'),
    run: async ({ opts }, ctx) => generateCommand(opts, await depsOf(ctx)),
  });
  const clear = defineCommand<{ prefix?: string }>({
    name: 'population clear',
    summary: 'Remove a generated population (by id prefix).',
    usage: '[--prefix P]',
    options: (cmd) => cmd.option('--prefix <p>', `id prefix (default ${DEFAULT_ID_PREFIX})`),
    run: async ({ opts }, ctx) => clearCommand(opts, await depsOf(ctx)),
  });
  return { generate, clear };
}

const CLI = populationCommands(async (ctx) => ({ db: (await ctx.engine()).database.db, out: (line) => void ctx.print(line), err: ctx.err }));
export const POPULATION_COMMANDS = [CLI.generate, CLI.clear];

/**
 * Runs `oshirase population <argv…>` on a given database (tests, scripts); returns the
 * exit code: 2 for a usage mistake, printed as one line through `deps.err`.
 */
export async function populationCommand(argv: string[], deps: PopulationCommandDeps): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) {
    deps.err('oshirase population: a subcommand is required: generate or clear (see --help)');
    return 2;
  }
  const commands = populationCommands(async () => deps);
  const command = sub === 'generate' ? commands.generate : sub === 'clear' ? commands.clear : null;
  if (!command) {
    deps.err(`oshirase population: unknown subcommand '${sub}' (expected generate or clear; see --help)`);
    return 2;
  }
  const ctx: CommandContext = {
    print: (text) => (deps.out(text), 0),
    err: deps.err,
    progress: () => {},
    actor: 'population',
    engine: () => Promise.reject(new Error('population commands use the database they are given')),
    temporal: () => Promise.reject(new Error('population commands use no Temporal')),
    close: async () => {},
  };
  try {
    return await command.invoke(rest, ctx);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.err(`oshirase ${command.name}: ${message.split('\n')[0]}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

function prefixOption(command: string, value: string | undefined): string {
  const prefix = value ?? DEFAULT_ID_PREFIX;
  const problem = checkIdPrefix(prefix);
  if (problem) throw new UsageError(command, `--prefix: ${problem}`);
  return prefix;
}

async function generateCommand(values: GenerateOptions, deps: PopulationCommandDeps): Promise<number> {
  const name = 'population generate';
  if (values.residents === undefined) throw new UsageError(name, '--residents is required');
  const residents = /^\d+$/.test(values.residents) ? Number(values.residents) : NaN;
  if (!(residents >= 1 && residents <= MAX_RESIDENTS)) {
    throw new UsageError(name, `--residents must be a positive integer up to ${MAX_RESIDENTS} (got '${values.residents}')`);
  }
  const seed = values.seed === undefined ? 1 : /^-?\d+$/.test(values.seed) ? Number(values.seed) : NaN;
  if (!Number.isSafeInteger(seed)) throw new UsageError(name, `--seed must be an integer (got '${values.seed}')`);
  const prefix = prefixOption(name, values.prefix);
  const referenceDate = values.date ?? todayInTokyo();
  if (!isIsoDate(referenceDate)) throw new UsageError(name, `--date must be a date YYYY-MM-DD (got '${referenceDate}')`);

  const now = deps.now ?? (() => performance.now());
  if (values.replace) {
    const started = now();
    const removed = await clearPopulation(deps.db, prefix);
    if (removed.residents > 0) deps.err(`removed ${fmt(removed.residents)} residents with prefix ${prefix} (${seconds(now() - started)})`);
  } else {
    const existing = await describePopulation(deps.db, prefix);
    if (existing.residents > 0) {
      deps.err(`oshirase ${name}: ${fmt(existing.residents)} residents with prefix ${prefix} exist already; add --replace to regenerate them`);
      return 1;
    }
  }

  const bar = progressBar(deps.progress ?? process.stderr, now);
  let result: PopulationResult;
  try {
    result = await generatePopulation(deps.db, { residents, seed, idPrefix: prefix, referenceDate, onProgress: bar.update });
  } finally {
    bar.end();
  }
  const profile = await describePopulation(deps.db, prefix);
  const share = (n: number) => `${((100 * n) / Math.max(1, profile.residents)).toFixed(1)}%`.padStart(6);
  deps.out(
    `generated ${fmt(result.residents)} residents in ${fmt(result.households)} households (${(result.residents / result.households).toFixed(2)} per household) in ${result.seconds.toFixed(1)} s (${fmt(Math.round(result.residents / Math.max(result.seconds, 0.001)))} residents/s)`,
  );
  deps.out(`  prefix ${prefix}, seed ${seed}, reference date ${referenceDate}`);
  deps.out(`  with email               ${share(profile.withEmail)}`);
  deps.out(`  with web push            ${share(profile.withPush)}`);
  deps.out('  consent in force:');
  for (const purpose of PURPOSE_IDS) deps.out(`    ${purpose.padEnd(22)} ${share(profile.consents[purpose] ?? 0)}`);
  return 0;
}

async function clearCommand(values: { prefix?: string }, deps: PopulationCommandDeps): Promise<number> {
  const prefix = prefixOption('population clear', values.prefix);
  const now = deps.now ?? (() => performance.now());
  const started = now();
  const removed = await clearPopulation(deps.db, prefix);
  deps.out(
    `removed ${fmt(removed.residents)} residents with prefix ${prefix}, ${fmt(removed.consents)} consents, ` +
      `${fmt(removed.pushSubscriptions)} push subscriptions and ${fmt(removed.outreach)} outreach in ${seconds(now() - started)}`,
  );
  return 0;
}

/**
 * On a terminal, a cli-progress bar rewritten in place: bar, percentage, residents/s, ETA.
 * Elsewhere (a log file, CI) a line at every tenth instead of a wall of redraws.
 */
function progressBar(stream: ProgressStream, now: () => number): { update: (done: number, total: number) => void; end: () => void } {
  const started = now();
  let lastTenth = 0;
  const render = (done: number, total: number): string => {
    const elapsed = (now() - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (total - done) / rate : 0;
    const width = 24;
    const filled = Math.round((width * done) / total);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${((100 * done) / total).toFixed(1).padStart(5)}%  ${fmt(done)}/${fmt(total)}  ${fmt(Math.round(rate))} residents/s  ETA ${clock(eta)}`;
  };
  const terminal = terminalProgressBar(render, stream);
  return {
    update(done, total) {
      if (stream.isTTY) return terminal.update(done, total);
      const tenth = Math.floor((10 * done) / total);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        stream.write(`${render(done, total)}\n`);
      }
    },
    end: () => terminal.stop(),
  };
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function clock(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
