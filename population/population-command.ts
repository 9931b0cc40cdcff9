/**
 * `oshirase population …`: a synthetic population for benchmarks and simulations.
 *   oshirase population generate --residents N [--seed S] [--prefix P] [--date YYYY-MM-DD] [--replace]
 *   oshirase population clear [--prefix P]
 */
import { parseArgs } from 'node:util';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema';
import { PURPOSE_IDS } from '../rule-language/attribute-catalog';
import { isIsoDate, todayInTokyo } from '../runtime/tokyo-calendar';
import {
  checkIdPrefix,
  clearPopulation,
  DEFAULT_ID_PREFIX,
  describePopulation,
  generatePopulation,
  MAX_RESIDENTS,
  type PopulationResult,
} from './generate-population';

/** Where the progress bar goes: stderr unless a test supplies its own. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface PopulationCommandDeps {
  db: Kysely<Database>;
  out: (line: string) => void;
  err: (line: string) => void;
  progress?: ProgressStream;
  /** Clock for rates and ETA; injectable so tests need not wait. */
  now?: () => number;
}

const USAGE = `Generate or remove a synthetic population of fictional residents (benchmarks, simulations).

Usage:
  oshirase population generate --residents N [--seed S] [--prefix P] [--date YYYY-MM-DD] [--replace]
  oshirase population clear [--prefix P]

Options:
  --residents N   how many residents, 1 to ${MAX_RESIDENTS.toLocaleString('en-US')}
  --seed S        integer seed (default 1): the same seed and date give the same residents
  --prefix P      id prefix (default ${DEFAULT_ID_PREFIX}): residents ${DEFAULT_ID_PREFIX}0000001…, households ${DEFAULT_ID_PREFIX}HH000001…
  --date D        reference date for ages and recent events (default today in Asia/Tokyo)
  --replace       remove an existing population with the same prefix first
`;

class UsageError extends Error {}

/** Runs `oshirase population <argv…>`; returns the exit code (2 for a usage mistake). */
export async function populationCommand(argv: string[], deps: PopulationCommandDeps): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) {
    deps.err('oshirase population: a subcommand is required: generate or clear (see --help)');
    return 2;
  }
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    deps.out(USAGE);
    return 0;
  }
  const name = `oshirase population ${sub}`;
  try {
    if (sub === 'generate') return await generate(rest, deps, name);
    if (sub === 'clear') return await clear(rest, deps);
    throw new UsageError(`unknown subcommand '${sub}' (expected generate or clear; see --help)`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    deps.err(`${name}: ${message.split('\n')[0]}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

function parse<T extends Parameters<typeof parseArgs>[0] & object>(config: T) {
  try {
    return parseArgs({ ...config, allowPositionals: false, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function prefixOption(value: string | undefined): string {
  const prefix = value ?? DEFAULT_ID_PREFIX;
  const problem = checkIdPrefix(prefix);
  if (problem) throw new UsageError(`--prefix: ${problem}`);
  return prefix;
}

async function generate(argv: string[], deps: PopulationCommandDeps, name: string): Promise<number> {
  const { values } = parse({
    args: argv,
    options: {
      residents: { type: 'string' },
      seed: { type: 'string' },
      prefix: { type: 'string' },
      date: { type: 'string' },
      replace: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    deps.out(USAGE);
    return 0;
  }
  if (values.residents === undefined) throw new UsageError('--residents is required');
  const residents = /^\d+$/.test(values.residents) ? Number(values.residents) : NaN;
  if (!(residents >= 1 && residents <= MAX_RESIDENTS)) {
    throw new UsageError(`--residents must be a positive integer up to ${MAX_RESIDENTS} (got '${values.residents}')`);
  }
  const seed = values.seed === undefined ? 1 : /^-?\d+$/.test(values.seed) ? Number(values.seed) : NaN;
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer (got '${values.seed}')`);
  const prefix = prefixOption(values.prefix);
  const referenceDate = values.date ?? todayInTokyo();
  if (!isIsoDate(referenceDate)) throw new UsageError(`--date must be a date YYYY-MM-DD (got '${referenceDate}')`);

  const now = deps.now ?? (() => performance.now());
  if (values.replace) {
    const started = now();
    const removed = await clearPopulation(deps.db, prefix);
    if (removed.residents > 0) deps.err(`removed ${fmt(removed.residents)} residents with prefix ${prefix} (${seconds(now() - started)})`);
  } else {
    const existing = await describePopulation(deps.db, prefix);
    if (existing.residents > 0) {
      deps.err(`${name}: ${fmt(existing.residents)} residents with prefix ${prefix} exist already; add --replace to regenerate them`);
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
  deps.out(`generated ${fmt(result.residents)} residents in ${fmt(result.households)} households (${(result.residents / result.households).toFixed(2)} per household) in ${result.seconds.toFixed(1)} s (${fmt(Math.round(result.residents / Math.max(result.seconds, 0.001)))} residents/s)`);
  deps.out(`  prefix ${prefix}, seed ${seed}, reference date ${referenceDate}`);
  deps.out(`  with email               ${share(profile.withEmail)}`);
  deps.out(`  with web push            ${share(profile.withPush)}`);
  deps.out('  consent in force:');
  for (const purpose of PURPOSE_IDS) deps.out(`    ${purpose.padEnd(22)} ${share(profile.consents[purpose] ?? 0)}`);
  return 0;
}

async function clear(argv: string[], deps: PopulationCommandDeps): Promise<number> {
  const { values } = parse({ args: argv, options: { prefix: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    deps.out(USAGE);
    return 0;
  }
  const prefix = prefixOption(values.prefix);
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
 * One line rewritten in place on a terminal: bar, percentage, residents/s, ETA.
 * Elsewhere (a log file, CI) a line at every tenth instead of a wall of \r.
 */
function progressBar(stream: ProgressStream, now: () => number): { update: (done: number, total: number) => void; end: () => void } {
  const started = now();
  let lastDraw = -Infinity;
  let lastTenth = 0;
  let drawn = false;
  const render = (done: number, total: number): string => {
    const elapsed = (now() - started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (total - done) / rate : 0;
    const width = 24;
    const filled = Math.round((width * done) / total);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${((100 * done) / total).toFixed(1).padStart(5)}%  ${fmt(done)}/${fmt(total)}  ${fmt(Math.round(rate))} residents/s  ETA ${clock(eta)}`;
  };
  return {
    update(done, total) {
      if (stream.isTTY) {
        const t = now();
        if (t - lastDraw < 100 && done < total) return;
        lastDraw = t;
        stream.write(`\r${render(done, total)}\x1b[K`);
        drawn = true;
      } else {
        const tenth = Math.floor((10 * done) / total);
        if (tenth > lastTenth) {
          lastTenth = tenth;
          stream.write(`${render(done, total)}\n`);
        }
      }
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
    },
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
