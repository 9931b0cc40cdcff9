import type { z } from 'zod';

/** A field name longer than this is cut in a problem: the name is the caller's input, and an answer must stay short. */
const SHOWN_NAME_CHARACTERS = 64;
/** Unknown fields named in one problem; the rest are counted. */
const SHOWN_UNKNOWN_FIELDS = 5;

/**
 * A field's name as a problem shows it: as given, or quoted as JSON when it would not read as a name
 * (empty, blank, or holding a dot, colon, quote or control character), so ` : not a field` never appears;
 * a name longer than 64 characters is cut there and marked with an ellipsis.
 */
export function shownFieldName(segment: PropertyKey): string {
  if (typeof segment === 'number') return String(segment);
  const characters = [...String(segment)];
  const name = characters.length > SHOWN_NAME_CHARACTERS ? `${characters.slice(0, SHOWN_NAME_CHARACTERS).join('')}…` : characters.join('');
  return /^[^\s.:"\\\p{Cc}]+$/u.test(name) ? name : JSON.stringify(name);
}

/** Zod issues as "path: message" lines, the form every error of the engine names a field in. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], root = '(body)'): string[] {
  return issues.map((i) => `${i.path.map(shownFieldName).join('.') || root}: ${messageOf(i)}`);
}

/** Zod's own message, except where it quotes the caller's input whole (unknown keys): those are shown as field names. */
function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code !== 'unrecognized_keys') return issue.message;
  const shown = issue.keys.slice(0, SHOWN_UNKNOWN_FIELDS).map(shownFieldName).join(', ');
  const more = issue.keys.length > SHOWN_UNKNOWN_FIELDS ? ` and ${issue.keys.length - SHOWN_UNKNOWN_FIELDS} more` : '';
  return `Unrecognized key${issue.keys.length === 1 ? '' : 's'}: ${shown}${more}`;
}
