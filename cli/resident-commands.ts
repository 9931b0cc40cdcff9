/**
 * `oshirase residents …`: the register, as the city's resident registry gives it.
 *   oshirase residents import FILE [--relationships FILE] [--format csv|jsonl] [--all-or-nothing]
 *   oshirase residents erase R
 */
import { loadEngineConfig } from '../config/engine-config';
import { readTextFile } from '../foundation/read-text-file';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import { importRegister, type ImportSource, type ImportSummary } from '../engine/register/import-register';
import {
  formatOfFileName,
  formatProblem,
  readCsvRecords,
  readJsonLinesRecords,
  RegisterFileError,
  type RecordFormat,
} from '../engine/register/register-records';
import { registerAddressCheck } from '../channels/letter/register-address-check';
import { eraseResident, UnknownResidentToEraseError } from '../engine/retention/erase-resident';
import { defineCommand, UsageError } from './cli-support';

interface ImportOptions {
  relationships?: string;
  format?: string;
  allOrNothing?: boolean;
}

const NAME = 'residents import';

/** Reads one file as records: its format from --format or its name; strict UTF-8. */
export function readImportFile(file: string, format: string | undefined): ImportSource {
  const kind: RecordFormat | null = format === undefined ? formatOfFileName(file) : format === 'csv' || format === 'jsonl' ? format : null;
  if (format !== undefined && kind === null) throw new UsageError(NAME, `--format must be csv or jsonl (got '${format}')`);
  if (kind === null) throw new UsageError(NAME, `${file}: cannot tell the format from the name (.csv, .jsonl): add --format csv|jsonl`);
  const read = readTextFile(file);
  if (!read.ok) throw new RegisterFileError(`${file}:${read.problem.line}:${read.problem.column}`, [read.problem.message]);
  if (kind === 'csv') return { name: file, records: readCsvRecords(file, read.text), problems: [] };
  return { name: file, ...readJsonLinesRecords(read.text) };
}

/** The summary: the counts, and whether anything was applied (the refused records are listed before it, one a line). */
export function summaryLines(summary: ImportSummary): string[] {
  const counts = `created ${summary.created}, updated ${summary.updated}, unchanged ${summary.unchanged}, refused ${summary.refused}`;
  const lines = [summary.applied ? counts : `nothing applied (--all-or-nothing): ${summary.refused} records refused`];
  if (summary.stoppedOutreach.length > 0) lines.push(`ended ${summary.stoppedOutreach.length} running outreach of residents who moved out or died`);
  return lines;
}

export const RESIDENTS_IMPORT = defineCommand<ImportOptions>({
  name: NAME,
  summary: 'Import residents, households and relationships from the resident registry (CSV or JSON Lines); see README for the columns.',
  usage: 'FILE [--relationships FILE] [--format csv|jsonl] [--all-or-nothing]',
  arguments: '[FILE]',
  options: (cmd) =>
    cmd
      .option('--relationships <file>', 'a second file of relationships (kind, from_resident_id, to_resident_id, since, until)')
      .option('--format <format>', 'csv or jsonl (default: from the file name)')
      .option('--all-or-nothing', 'apply nothing if any record is refused'),
  async run({ args, opts }, ctx) {
    const [file, ...extra] = args;
    if (!file) throw new UsageError(NAME, 'a FILE to import is required');
    if (extra.length > 0) throw new UsageError(NAME, `one FILE at a time (got also ${extra.join(' ')}); relationships go in --relationships`);
    const config = loadEngineConfig();
    const sources: ImportSource[] = [];
    try {
      sources.push(readImportFile(file, opts.format));
      if (opts.relationships) sources.push(readImportFile(opts.relationships, opts.format));
    } catch (error) {
      if (!(error instanceof RegisterFileError)) throw error;
      for (const problem of error.problems) ctx.err(`${error.source}: ${problem}`);
      ctx.err('nothing applied: the file cannot be read as records');
      return 2;
    }
    const context = await ctx.engine();
    const summary = await importRegister({ db: context.database.db, temporal: () => ctx.temporal() }, sources, {
      allOrNothing: opts.allOrNothing === true,
      actor: ctx.actor,
      today: todayInTokyo(),
      postalAddress: registerAddressCheck(config.cityName),
      onProgress: (done, total) => ctx.progress(done, total, 'importing'),
    });
    for (const problem of summary.problems) ctx.err(formatProblem(problem.source, problem));
    for (const line of summaryLines(summary)) ctx.print(line);
    return summary.refused > 0 ? 1 : 0;
  },
});

export const RESIDENTS_ERASE = defineCommand({
  name: 'residents erase',
  summary: "Remove a resident's personal data everywhere it is kept (running outreach ended first); the audit chain stays verifiable.",
  usage: 'RESIDENT_ID',
  arguments: '[RESIDENT_ID]',
  async run({ args }, ctx) {
    const [residentId, ...extra] = args;
    if (!residentId) throw new UsageError(RESIDENTS_ERASE.name, 'a RESIDENT_ID is required');
    if (extra.length > 0) throw new UsageError(RESIDENTS_ERASE.name, `one RESIDENT_ID at a time (got also ${extra.join(' ')})`);
    const context = await ctx.engine();
    try {
      const erased = await eraseResident({ db: context.database.db, temporal: () => ctx.temporal() }, residentId, { actor: ctx.actor });
      ctx.print(`erased ${residentId}: consents withdrawn ${erased.consentsWithdrawn}, outreach ended ${erased.outreachStopped}`);
      return ctx.print(
        `  removed ledger rows ${erased.deliveries}, letters ${erased.letters}, bounces ${erased.bounces}, task notes ${erased.taskNotes}, event payloads ${erased.eventPayloads}, files ${erased.files}, push devices ${erased.pushSubscriptions}`,
      );
    } catch (error) {
      if (!(error instanceof UnknownResidentToEraseError)) throw error;
      ctx.err(`residents erase: ${error.message}`);
      return 1;
    }
  },
});

export const RESIDENT_COMMANDS = [RESIDENTS_IMPORT, RESIDENTS_ERASE];
