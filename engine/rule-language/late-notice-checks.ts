import { existsSync, readdirSync } from 'node:fs';
import { readTextFile } from '../../foundation/read-text-file';
import { join } from 'node:path';
import { LOCALES, type Channel, type Locale } from '../../store/schema';
import type { Rule } from './rule-schema';
import type { RuleProblem } from './rule-problems';
import { LOCALE_NAMES } from '../notices/locale-fallback';
import { CHANNEL_PARTS, resolveTemplatePart } from '../notices/render-notice';
import { LATE_REPLACED_PARTS, LATE_VARIANT, latePartName, requiredLateParts, variantPart } from '../notices/late-notice';
import { analyzeTemplate } from '../notices/template-variables';

/**
 * What validation checks of a set's late-application notice (late-notice.ts),
 * for a rule using the set. Nothing when the set has no `late.*` part: the rule
 * then has no late notice, and a late outreach sends nothing and opens the
 * deadline-passed task. When it has one:
 *
 * - every `late.*` file is a part a late notice uses (no `late.letter`, no typo);
 * - every locale gets the late parts of every channel the plan sends on (or its
 *   fallback locale does): otherwise residents of that locale get nothing;
 * - no part a late notice renders — its late parts, the ordinary subject when
 *   the set has no late subject, the layouts — names the deadline: it has
 *   passed, the notice is rendered without `deadline`, and would fail to send.
 *
 * Variables, helpers and Handlebars syntax of the late parts are for the
 * template checks every part gets.
 */
export function lateNoticeProblems(rule: Pick<Rule, 'id' | 'templates' | 'deadline' | 'outreach'>, templatesDir: string): RuleProblem[] {
  const setDir = join(templatesDir, rule.templates);
  const lateFiles = LOCALES.flatMap((locale) => {
    const dir = join(setDir, locale);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.startsWith(`${LATE_VARIANT}.`) && f.endsWith('.hbs'))
      .sort()
      .map((f) => ({ locale, part: f.slice(0, -'.hbs'.length), file: join(dir, f) }));
  });
  if (lateFiles.length === 0) return [];

  const problems: RuleProblem[] = [];
  const known = Object.keys(LATE_REPLACED_PARTS).map(latePartName);
  for (const { part, file } of lateFiles) {
    if (!known.includes(part)) {
      problems.push({
        file,
        line: 1,
        column: 1,
        field: part,
        message: `${part} is not a part of a late-application notice: a set may have ${known.join(', ')}`,
      });
    }
  }
  if (!rule.deadline) {
    const first = lateFiles[0]!;
    problems.push({
      file: first.file,
      line: 1,
      column: 1,
      field: first.part,
      message: `rule ${rule.id} has no deadline, so it never sends a late-application notice: remove the late.* parts or give the rule a deadline`,
    });
    return problems;
  }

  const channels = [...new Set(rule.outreach.flatMap((s): Channel[] => ('send' in s ? [s.send] : [])))];
  const has = (locale: Locale) => (part: string) => resolveTemplatePart(templatesDir, rule.templates, locale, part) !== null;
  const checked = new Set<string>();
  for (const locale of LOCALES) {
    const missing = channels.flatMap((channel) =>
      requiredLateParts(channel)
        .filter((part) => !has(locale)(part))
        .map((part) => `${part} (for ${channel})`),
    );
    if (missing.length > 0) {
      problems.push({
        file: join(setDir, locale, `${missing[0]!.split(' ')[0]}.hbs`),
        line: 1,
        column: 1,
        field: 'templates',
        message: `template set ${rule.templates} has a late-application notice, but not ${[...new Set(missing)].join(', ')} in ${LOCALE_NAMES[locale]}: residents who read it would get no late-application notice at all`,
      });
      continue;
    }
    // Every file a late notice renders for this locale, once.
    for (const channel of channels) {
      for (const part of CHANNEL_PARTS[channel]) {
        const rendered = variantPart(part, LATE_VARIANT, has(locale));
        const resolved = resolveTemplatePart(templatesDir, rule.templates, locale, rendered);
        if (!resolved || checked.has(resolved.file)) continue;
        checked.add(resolved.file);
        problems.push(...namesDeadline(resolved.file, rendered, rendered.startsWith(`${LATE_VARIANT}.`)));
      }
    }
  }
  return problems;
}

function namesDeadline(file: string, part: string, ownPart: boolean): RuleProblem[] {
  const read = readTextFile(file);
  if (!read.ok) return []; // not UTF-8 or unreadable: the template checks report it
  let analysis;
  try {
    analysis = analyzeTemplate(read.text);
  } catch {
    return []; // not valid Handlebars: the template checks report it
  }
  const uses = [
    ...analysis.variables.map((v) => ({ path: v.path, line: v.line, column: v.column })),
    ...analysis.helpers.flatMap((h) => h.args.flatMap((a) => (a.kind === 'variable' ? [{ path: a.path, line: a.line, column: a.column }] : []))),
  ];
  const seen = new Set<string>();
  return uses
    .filter((u) => u.path === 'deadline' || u.path.startsWith('deadline.'))
    .filter((u) => {
      const key = `${u.line}:${u.column}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .map((u) => ({
      file,
      line: u.line,
      column: u.column,
      field: u.path,
      message: ownPart
        ? `${part} names ${u.path}, but a late-application notice goes out after the deadline has passed and must not quote it: say that the usual deadline has passed and what the resident can still do`
        : `${part} names ${u.path}, and late-application notices use this part too: they go out after the deadline and are rendered without it`,
    }));
}
