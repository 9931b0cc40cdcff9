import type { z } from 'zod';

/**
 * A field's name as a problem shows it: as given, or quoted as JSON when it would not read as a name
 * (empty, blank, or holding a dot, colon, quote or control character), so ` : not a field` never appears.
 */
export function shownFieldName(segment: PropertyKey): string {
  const name = String(segment);
  return typeof segment === 'number' || /^[^\s.:"\\\p{Cc}]+$/u.test(name) ? name : JSON.stringify(name);
}

/** Zod issues as "path: message" lines, the form every error of the engine names a field in. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], root = '(body)'): string[] {
  return issues.map((i) => `${i.path.map(shownFieldName).join('.') || root}: ${i.message}`);
}
