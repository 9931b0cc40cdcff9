/** A mistake in a rule, parameter or template file, located for the person who wrote it. */
export interface RuleProblem {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
}

export function formatProblem(p: RuleProblem): string {
  return `${shownFileName(p.file)}:${p.line}:${p.column}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

/**
 * A file name as a problem line starts with it: as given, or quoted as JSON when it would not read as one —
 * empty, blank at either end, or holding a control or invisible character (a byte-order mark pasted into
 * a command line would otherwise print as nothing before the colon).
 */
export function shownFileName(file: string): string {
  if (file !== '' && !/^\s|\s$|[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|[^\S ]/u.test(file)) return file;
  // JSON escapes control characters; the invisible ones it leaves as they are, so they are escaped here.
  return JSON.stringify(file).replace(/[\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export class RuleValidationError extends Error {
  constructor(readonly problems: RuleProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}
