import type { z } from 'zod';

/** Zod issues as "path: message" lines, the form every error of the engine names a field in. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], root = '(body)'): string[] {
  return issues.map((i) => `${i.path.map(String).join('.') || root}: ${i.message}`);
}
