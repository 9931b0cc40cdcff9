import { isoDate } from '../rule-language/rule-schema';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how a command was called: printed as one line with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(readonly command: string, message: string) {
    super(message);
  }
}

export interface CommandSpec<O extends NonNullable<ParseArgsConfig['options']>> {
  name: string;
  summary: string;
  usage: string;
  options: O;
}

export function parseCommand<O extends NonNullable<ParseArgsConfig['options']>>(spec: CommandSpec<O>, argv: string[]) {
  try {
    return parseArgs({ args: argv, options: { ...spec.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(spec.name, error instanceof Error ? error.message : String(error));
  }
}

export function helpText(spec: { name: string; summary: string; usage: string }): string {
  return `${spec.summary}\n\nUsage: oshirase ${spec.name} ${spec.usage}\n`;
}

export function requireOption(command: string, name: string, value: string | undefined): string {
  if (value === undefined || value === '') throw new UsageError(command, `--${name} is required`);
  return value;
}

/** Renders rows as an aligned plain-text table. */
export function table(headers: string[], rows: string[][]): string {
  const width = (s: string) => [...s].reduce((w, ch) => w + (/[\u1100-\uffdc]/.test(ch) ? 2 : 1), 0);
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: string[]) => cells.map((c, i) => c + ' '.repeat(widths[i]! - width(c))).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** An optional `--date YYYY-MM-DD`: undefined when absent, a usage error naming the flag when malformed. */
export function optionalDateOption(command: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const parsed = isoDate.safeParse(value);
  if (!parsed.success) throw new UsageError(command, `--date: "${String(value)}" is not a date (YYYY-MM-DD)`);
  return parsed.data;
}
