/**
 *   oshirase takeup [--from YYYY-MM] [--to YYYY-MM] [--rule R] [--ward W] [--csv]
 *
 * The take-up figures (効果検証, engine/reporting/take-up.ts) of every ward, as a table or as the API's CSV.
 */
import { defineCommand, UsageError } from './cli-support';
import { table } from '../foundation/text-table';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import { addMonths, MONTH_PATTERN, takeUpCsv, takeUpFigures, takeUpQueryProblems, type TakeUpRow } from '../engine/reporting/take-up';

export const TAKEUP = defineCommand<{ from?: string; to?: string; rule?: string; ward?: string; csv?: boolean }>({
  name: 'takeup',
  summary: 'Take-up figures (効果検証) per trigger month, rule, ward and first channel: matched, notified, answered, applied, granted.',
  usage: '[--from YYYY-MM] [--to YYYY-MM] [--rule RULE_ID] [--ward WARD] [--csv]',
  options: (cmd) =>
    cmd
      .option('--from <month>', 'first trigger month (default: eleven months before --to)')
      .option('--to <month>', 'last trigger month, included (default: this month, Asia/Tokyo)')
      .option('--rule <rule>', 'one rule only')
      .option('--ward <ward>', 'one ward only')
      .option('--csv', 'print CSV (the columns of GET /api/v1/take-up.csv) instead of a table'),
  async run({ opts }, ctx) {
    const to = opts.to ?? todayInTokyo().slice(0, 7);
    // A year up to --to; a malformed --to is reported below.
    const from = opts.from ?? (MONTH_PATTERN.test(to) ? addMonths(to, -11) : to);
    const problems = takeUpQueryProblems({ from, to });
    if (problems.length > 0) throw new UsageError(TAKEUP.name, problems.map((p) => `--${p}`).join('; '));
    const db = (await ctx.engine()).database.db;
    const rows = await takeUpFigures(db, { from, to, ruleId: opts.rule, wards: opts.ward !== undefined ? [opts.ward] : undefined });
    if (opts.csv) {
      // The CSV's own line ends (CRLF); print adds the last one.
      return ctx.print(takeUpCsv(rows).replace(/\r\n$/, ''));
    }
    if (rows.length === 0) return ctx.print(`no outreach with a trigger date from ${from} to ${to}`);
    return ctx.print(
      table(
        ['month', 'rule', 'ward', 'first channel', 'matched', 'notified', 'email', 'push', 'letter', 'answered', 'applied', 'granted', 'median days'],
        [...rows.map(cells), cells(total(rows))],
      ),
    );
  },
});

function cells(r: TakeUpRow): string[] {
  return [
    r.month,
    r.ruleId,
    r.ward,
    r.firstChannel,
    ...[r.matched, r.notified, r.notifiedByChannel.email, r.notifiedByChannel.push, r.notifiedByChannel.letter, r.answered, r.applied, r.granted].map(String),
    r.medianDaysToApplication === null ? '-' : String(r.medianDaysToApplication),
  ];
}

/** The sum of every row (a median does not add up: left out). */
function total(rows: readonly TakeUpRow[]): TakeUpRow {
  const sum = (pick: (r: TakeUpRow) => number) => rows.reduce((n, r) => n + pick(r), 0);
  return {
    month: 'total',
    ruleId: '',
    ward: '',
    firstChannel: '' as TakeUpRow['firstChannel'],
    matched: sum((r) => r.matched),
    notified: sum((r) => r.notified),
    notifiedByChannel: {
      email: sum((r) => r.notifiedByChannel.email),
      push: sum((r) => r.notifiedByChannel.push),
      letter: sum((r) => r.notifiedByChannel.letter),
    },
    answered: sum((r) => r.answered),
    applied: sum((r) => r.applied),
    granted: sum((r) => r.granted),
    medianDaysToApplication: null,
  };
}

export const TAKEUP_COMMANDS = [TAKEUP];
