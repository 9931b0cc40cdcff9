/**
 * What `templates check` (and rule validation) must catch beyond syntax and
 * root variables, because it otherwise fails for every resident at send time:
 * paths inside `#each`/`#with`, `#each` over something that is not a list, a
 * part that can render empty, a push notice too large for one push message,
 * and a rule naming a template set that does not exist.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { Locale } from '../../store/schema';
import { MAX_PLAINTEXT_BYTES } from '../notices/channel-limits';
import { formatNoticeDate, formatWarekiDate } from '../notices/format-dates';
import { pushBody, SHARED_SET } from '../notices/render-notice';
import { formatYen, isNoticeHelper, NOTICE_HELPERS } from '../notices/template-helpers';
import {
  LIST_ITEM,
  LIST_ITEM_KINDS,
  type ScopedVariableUse,
  type TemplateAnalysis,
  type TemplatePosition,
  type VariableKind,
} from '../notices/template-variables';
import type { ParameterSet } from './parameters';
import type { RuleProblem } from './rule-problems';
import { OFFICE_TEXT_LIMITS } from '../../config/offices';
import type { Rule } from './rule-schema';
import { whyYouGotThis } from './why-you-got-this';
import type { Purpose } from './attribute-catalog';

type Kind = VariableKind | 'group';

/** How a variable's kind is named in messages to template authors. */
export const KIND_TEXT: Record<Kind, string> = {
  isoDate: 'an ISO date (YYYY-MM-DD)',
  number: 'a number',
  text: 'text',
  boolean: 'true or false',
  list: 'a list',
  group: 'a group of variables',
};

/** The variables one part can read (noticeVariableCatalog), with what validation needs to ask of them. */
export class VariableShapes {
  constructor(private readonly catalog: ReadonlyMap<string, VariableKind>) {}

  /** A variable's kind; 'group' for a prefix of variables (`resident`, `param.school_support`); undefined when there is none. */
  kindOf(path: string): Kind | undefined {
    return this.catalog.get(path) ?? (this.children(path).length > 0 ? 'group' : undefined);
  }

  /** The names directly under a group, as written inside `{{#with group}}`: `name`, `honorificName`. */
  children(path: string): string[] {
    const prefix = path === '' ? '' : `${path}.`;
    const names = new Set<string>();
    for (const key of this.catalog.keys()) if (key.startsWith(prefix)) names.add(key.slice(prefix.length).split('.')[0]!);
    return [...names];
  }

  /** Every variable under a group, relative to it (`school_support.income_bracket_limit` under `param`). */
  descendants(path: string): string[] {
    const prefix = `${path}.`;
    return [...this.catalog.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  }

  /**
   * The kind of a resolved path from the analysis (`resident.nmae`,
   * `content.paragraphs[]`): 'unchecked' when the block it lies in iterates
   * something that is itself wrong (reported there, once).
   */
  kindOfResolved(path: string): Kind | 'unchecked' | undefined {
    const item = path.indexOf(LIST_ITEM);
    if (item < 0) return this.kindOf(path);
    const list = path.slice(0, item);
    if (this.kindOf(list) !== 'list') return 'unchecked';
    const rest = path.slice(item + LIST_ITEM.length);
    if (rest === '') return LIST_ITEM_KINDS.get(list) ?? 'text';
    return rest.startsWith(LIST_ITEM) ? 'unchecked' : undefined;
  }
}

const pos = (node: { loc: hbs.AST.SourceLocation }): TemplatePosition => ({ line: node.loc.start.line, column: node.loc.start.column + 1 });
const where = (p: TemplatePosition) => `line ${p.line}:${p.column}`;
const blockText = (b: ScopedVariableUse['block']) => `{{#${b.name} ${b.path}}} (${where(b)})`;
const listing = (names: string[]) => (names.length > 6 ? `${names.slice(0, 6).join(', ')}…` : names.join(', '));

/**
 * Paths read inside `#each`/`#with`, the values those blocks iterate or
 * narrow to, and helper arguments read inside them. Root variables are
 * checked by checkTemplates; this checks only what lies inside blocks.
 */
export function checkScopedPaths(
  file: string,
  analysis: TemplateAnalysis,
  shapes: VariableShapes,
  suggest: (name: string, candidates: string[]) => string,
): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const at = (p: TemplatePosition, field: string) => ({ file, line: p.line, column: p.column, field });

  for (const use of analysis.scoped) {
    const kind = shapes.kindOfResolved(use.path);
    if (kind === 'unchecked') continue;
    const blockKind = shapes.kindOfResolved(use.block.name === 'each' ? `${use.block.path}${LIST_ITEM}` : use.block.path);
    // The block's own variable is reported: unknown, or a list given to #with.
    if (blockKind === 'unchecked' || blockKind === undefined || (use.block.name === 'with' && blockKind === 'list')) continue;
    if (kind === undefined) {
      problems.push({ ...at(use, use.written), message: unknownInside(use, blockKind, shapes, suggest) });
    } else if (use.output && (kind === 'group' || kind === 'list')) {
      const parts = kind === 'group' ? ` (${listing(shapes.children(use.path))})` : '';
      problems.push({
        ...at(use, use.written),
        message: `${use.written} inside ${blockText(use.block)} is ${use.path}, ${KIND_TEXT[kind]}, not one value: print one of its parts${parts}${kind === 'list' ? ' or use #each' : ''}`,
      });
    }
  }

  for (const h of analysis.helpers) {
    const target = h.args[0];
    if (h.block && (h.name === 'each' || h.name === 'with') && h.args.length === 1 && target) {
      const path = target.kind === 'variable' ? target.path : target.kind === 'relative' ? target.resolved : undefined;
      if (path === undefined) continue;
      const kind = shapes.kindOfResolved(path);
      if (kind === undefined || kind === 'unchecked') continue;
      if (h.name === 'each' && kind !== 'list') {
        const what =
          kind === 'group'
            ? `it would repeat the block once for each of its parts (${listing(shapes.children(path))}) and print their names and values: print the part you mean, e.g. {{${path}.${shapes.children(path)[0]}}}`
            : 'it would print nothing';
        problems.push({
          ...at(target, target.kind === 'relative' ? target.path : path),
          message: `#each needs a list, but ${path} is ${KIND_TEXT[kind]}: ${what}`,
        });
      }
      if (h.name === 'with' && kind === 'list') {
        problems.push({
          ...at(target, target.kind === 'relative' ? target.path : path),
          message: `#with needs one value or a group of variables, but ${path} is a list: use {{#each ${path}}}`,
        });
      }
    }
    if (!h.block && isNoticeHelper(h.name) && h.args.length === 1 && target?.kind === 'relative' && target.resolved !== undefined) {
      const kind = shapes.kindOfResolved(target.resolved);
      const wanted = NOTICE_HELPERS[h.name].argument;
      if (kind !== undefined && kind !== 'unchecked' && kind !== wanted) {
        const iso = target.path.replace(/date$/, 'iso');
        const hint =
          wanted === 'isoDate' && target.path.endsWith('date') && shapes.kindOfResolved(target.resolved.replace(/date$/, 'iso')) === 'isoDate'
            ? `use ${iso}: ${target.path} is already formatted`
            : NOTICE_HELPERS[h.name].usage;
        problems.push({
          ...at(target, h.name),
          message: `${h.name} needs ${KIND_TEXT[wanted]}, but ${target.path} here is ${target.resolved}, ${KIND_TEXT[kind]} (${hint})`,
        });
      }
    }
  }
  return problems;
}

function unknownInside(use: ScopedVariableUse, blockKind: Kind, shapes: VariableShapes, suggest: (name: string, candidates: string[]) => string): string {
  if (use.block.name === 'each') {
    return `${use.written} inside ${blockText(use.block)}: each item of ${use.block.path} is ${KIND_TEXT[blockKind]}, with no parts: write {{this}}`;
  }
  if (blockKind !== 'group') {
    return `${use.written} inside ${blockText(use.block)}: ${use.block.path} is ${KIND_TEXT[blockKind]}, with no parts: write {{this}}`;
  }
  const relative = use.path.slice(use.block.path.length + 1);
  // Suggested as written: `r.name` for `r.nmae` through a block parameter.
  const prefix = use.written.endsWith(relative) ? use.written.slice(0, use.written.length - relative.length) : '';
  const hint = suggest(
    use.written,
    shapes.descendants(use.block.path).map((d) => `${prefix}${d}`),
  );
  return `no variable ${use.written} inside ${blockText(use.block)}: ${use.block.path} has ${listing(shapes.children(use.block.path))}${hint}`;
}

/** What a block's condition can be, for a rule: a date or group a rule provides is always there; the rest depends on the data. */
type Truth = 'always' | 'never' | 'depends';

/** Characters that print nothing a reader can see. */
const INVISIBLE = /^[\s\u200B-\u200D\u2060\uFEFF]*$/;
/** More conditions than this and the combinations are not tried (no real notice has so many). */
const MAX_CONDITIONS = 10;

/**
 * A part that renders empty for some residents (or for all) is never sent:
 * the renderer refuses it at send time. Tries every combination of the
 * conditions the part depends on (`#if`, `#unless`, `#each`, `#with` over the
 * same variable go together) and reports the first in which nothing visible
 * is printed. Parts that are empty outright are reported by checkTemplates.
 */
export function checkRendersEmpty(file: string, part: string, neededBy: string[], source: string, shapes: VariableShapes): RuleProblem | null {
  const program = Handlebars.parse(source);
  const keyOf = (b: hbs.AST.BlockStatement, depth: number): string | null => {
    const param = b.params[0];
    if (!param || param.type !== 'PathExpression') return null;
    const p = param as hbs.AST.PathExpression;
    return p.depth === depth && !p.data ? p.parts.join('.') : `${depth}:${p.original}`;
  };
  const truthOf = (b: hbs.AST.BlockStatement, depth: number): Truth => {
    const param = b.params[0];
    if (!param) return 'depends';
    if (param.type === 'BooleanLiteral') return (param as hbs.AST.BooleanLiteral).value ? 'always' : 'never';
    if (param.type === 'StringLiteral' || param.type === 'NumberLiteral') return (param as hbs.AST.StringLiteral).value ? 'always' : 'never';
    if (param.type !== 'PathExpression') return 'depends';
    const p = param as hbs.AST.PathExpression;
    if (p.data || p.depth !== depth) return 'depends';
    const kind = shapes.kindOf(p.parts.join('.'));
    return kind === 'isoDate' || kind === 'group' ? 'always' : 'depends';
  };

  // The conditions, each once.
  const conditions = new Map<string, Truth>();
  /** A block over a variable the rule does not provide (or #each over one that is no list): reported as such, not as an empty part too. */
  let wrongBlock = false;
  const collect = (node: hbs.AST.Node | undefined, depth: number): void => {
    if (!node) return;
    if (node.type === 'Program') (node as hbs.AST.Program).body.forEach((n) => collect(n, depth));
    if (node.type !== 'BlockStatement') return;
    const b = node as hbs.AST.BlockStatement;
    const name = b.path.type === 'PathExpression' ? (b.path as hbs.AST.PathExpression).original : '';
    const key = keyOf(b, depth);
    const param = b.params[0];
    if (param?.type === 'PathExpression' && !(param as hbs.AST.PathExpression).data && (param as hbs.AST.PathExpression).depth === depth) {
      const kind = shapes.kindOf((param as hbs.AST.PathExpression).parts.join('.'));
      if (kind === undefined || (name === 'each' && kind !== 'list')) wrongBlock = true;
    }
    if (key !== null && ['if', 'unless', 'each', 'with'].includes(name) && !conditions.has(key)) conditions.set(key, truthOf(b, depth));
    collect(b.program, name === 'each' || name === 'with' ? depth + 1 : depth);
    collect(b.inverse, depth);
  };
  collect(program, 0);
  if (wrongBlock) return null;
  const open = [...conditions].filter(([, t]) => t === 'depends').map(([k]) => k);
  if (open.length > MAX_CONDITIONS) return null;

  /** Whether the node prints something visible under `truth`, and the outermost block that printed nothing. */
  const prints = (node: hbs.AST.Node | undefined, depth: number, truth: Map<string, boolean>): boolean => {
    if (!node) return false;
    switch (node.type) {
      case 'Program':
        // Every statement is visited: `some` would stop at the first that prints.
        return (node as hbs.AST.Program).body.map((n) => prints(n, depth, truth)).some(Boolean);
      case 'ContentStatement':
        return !INVISIBLE.test((node as hbs.AST.ContentStatement).value);
      case 'CommentStatement':
        return false;
      case 'BlockStatement': {
        const b = node as hbs.AST.BlockStatement;
        const name = b.path.type === 'PathExpression' ? (b.path as hbs.AST.PathExpression).original : '';
        const key = keyOf(b, depth);
        if (!['if', 'unless', 'each', 'with'].includes(name) || key === null) return true; // reported as a wrong block
        const value = truth.get(key) ?? conditions.get(key) === 'always';
        const shown = name === 'unless' ? !value : value;
        return shown ? prints(b.program, name === 'each' || name === 'with' ? depth + 1 : depth, truth) : prints(b.inverse, depth, truth);
      }
      default:
        // Values, helpers, partials: a value a rule provides is never empty.
        return true;
    }
  };

  const combinations = 2 ** open.length;
  let silent: Map<string, boolean> | null = null;
  let silentCount = 0;
  for (let mask = 0; mask < combinations; mask++) {
    const truth = new Map<string, boolean>();
    for (const [k, t] of conditions) if (t !== 'depends') truth.set(k, t === 'always');
    open.forEach((k, i) => truth.set(k, (mask & (1 << i)) !== 0));
    if (prints(program, 0, truth)) continue;
    silent ??= truth;
    silentCount += 1;
  }
  if (!silent) return null;
  const first = program.body.find((n) => n.type === 'BlockStatement') as hbs.AST.BlockStatement | undefined;
  const at = first ? pos(first) : { line: 1, column: 1 };
  const always = silentCount === combinations;
  const truth = silent;
  const when = open.map((k) => `${k.replace(/^\d+:/, '')} is ${truth.get(k) ? 'set' : 'false or empty'}`).join(' and ');
  return {
    file,
    ...at,
    field: part,
    message: `${always ? 'can only render empty' : `renders empty when ${when}`}: the ${part} part of ${neededBy.join(', ')} notices would say nothing and the notice would not be sent — ${always ? 'write text that is printed whatever the values' : 'put text outside the block, or give it an {{else}} with text'}`,
  };
}

/** The longest a resident's or the city's value can be, in bytes as JSON text (UTF-8, escaped). */
export const LONGEST_VALUE_BYTES = {
  /** Family and given name: up to 100 characters of 3 bytes (kanji, kana). */
  name: 300,
  /** The city's and office's names (CITY_NAME_*, the office's department): up to 50 characters. */
  cityText: 150,
  phone: 20,
  /** PUBLIC_BASE_URL (up to 100 characters), `/respond/` and a 43-character token. */
  link: 160,
  /** A letter's response code: XXX-XXX-XXX (letters of earlier versions: XXXX-XXXX-XX). */
  code: 12,
  /** A yen amount up to Number.MAX_SAFE_INTEGER, formatted. */
  yen: Buffer.byteLength(formatYen(-Number.MAX_SAFE_INTEGER, 'ja')),
  /** outreach:<rule>:<resident id, up to 100>:<occurrence, up to an event id's 200>#<step>:push, less the rule id and step. */
  tagFixed: 'outreach:'.length + 1 + 100 + 1 + 200 + '#'.length + ':push'.length,
} as const;

const jsonBytes = (s: string) => Buffer.byteLength(JSON.stringify(s)) - 2;

const longestDate = new Map<string, number>();
/** The longest date of the next century as `format` writes it for the locale. */
function longestDateBytes(locale: Locale, format: 'notice' | 'wareki'): number {
  const key = `${locale}|${format}`;
  const cached = longestDate.get(key);
  if (cached !== undefined) return cached;
  let longest = 0;
  for (const year of [2019, 2099]) {
    for (let month = 1; month <= 12; month++) {
      for (const day of ['01', '28']) {
        const iso = `${year}-${String(month).padStart(2, '0')}-${day}`;
        longest = Math.max(longest, jsonBytes(format === 'notice' ? formatNoticeDate(iso, locale) : formatWarekiDate(iso, locale)));
      }
    }
  }
  longestDate.set(key, longest);
  return longest;
}

/** The longest value a variable can take for residents of `locale`; undefined when the rule does not provide it. */
export function longestValueBytes(path: string, rule: Rule, locale: Locale, parameters: ParameterSet): number | undefined {
  switch (path) {
    case 'resident.name':
      return LONGEST_VALUE_BYTES.name;
    case 'resident.honorificName':
      return LONGEST_VALUE_BYTES.name + jsonBytes(' 様');
    case 'city.name':
    case 'city.office':
      return LONGEST_VALUE_BYTES.cityText;
    case 'city.phone':
      return LONGEST_VALUE_BYTES.phone;
    case 'notice.title':
      return jsonBytes(rule.title[locale]);
    case 'links.code':
      return LONGEST_VALUE_BYTES.code;
    case 'application.url':
      return rule.application ? jsonBytes(rule.application.url) : LONGEST_VALUE_BYTES.link;
    case 'application.name':
      return rule.application ? jsonBytes(rule.application.name[locale]) : 0;
  }
  // The office's texts: up to the offices file's limits, in characters of up to 3 bytes.
  const officeField = /^office\.(\w+)$/.exec(path)?.[1];
  if (officeField === 'postalCode' || officeField === 'phone') return OFFICE_TEXT_LIMITS[officeField];
  if (officeField !== undefined && officeField in OFFICE_TEXT_LIMITS) return OFFICE_TEXT_LIMITS[officeField as keyof typeof OFFICE_TEXT_LIMITS] * 3;
  if (path.startsWith('links.')) return LONGEST_VALUE_BYTES.link;
  if (/^(trigger|event|deadline)\.date$/.test(path)) return longestDateBytes(locale, 'notice');
  if (/^(trigger|event|deadline)\.iso$/.test(path)) return 10;
  if (path.startsWith('param.')) {
    const parameter = parameters.get(path.slice('param.'.length));
    if (!parameter) return undefined;
    return Math.max(...Object.values(parameter.values).map((v) => jsonBytes(String(v))));
  }
  return undefined;
}

/** The parts of a push notice and the payload field each fills (channels/push/web-push.ts sendPush). */
const PUSH_FIELDS = { 'push.title': 'title', 'push.body': 'body', 'push.link': 'url' } as const;
export type PushPart = keyof typeof PUSH_FIELDS;
export const PUSH_PARTS = Object.keys(PUSH_FIELDS) as PushPart[];

/** The longest a part can render, in bytes as JSON text: its static text (on one line, as pushed) plus the longest value of each output. */
function longestRendering(source: string, analysis: TemplateAnalysis, value: (path: string) => number, locale: Locale): { total: number; staticText: number } {
  const resolved = new Map<string, string>();
  for (const v of analysis.variables) resolved.set(`${v.line}:${v.column}`, v.path);
  for (const v of analysis.scoped) resolved.set(`${v.line}:${v.column}`, v.path);
  let staticText = 0;

  const valueOf = (expr: hbs.AST.Expression): number => {
    switch (expr.type) {
      case 'PathExpression': {
        const p = pos(expr);
        const path = resolved.get(`${p.line}:${p.column}`);
        return path === undefined ? 0 : value(path);
      }
      case 'SubExpression': {
        const s = expr as hbs.AST.SubExpression;
        return helperOutput(s.path, s.params);
      }
      case 'StringLiteral':
      case 'NumberLiteral':
      case 'BooleanLiteral':
        return jsonBytes(String((expr as hbs.AST.StringLiteral).value));
      default:
        return 0;
    }
  };
  const helperOutput = (path: hbs.AST.Expression, params: hbs.AST.Expression[]): number => {
    const name = path.type === 'PathExpression' ? (path as hbs.AST.PathExpression).original : '';
    const arg = params[0];
    switch (name) {
      case 'warekiDate':
        return longestDateBytes(locale, 'wareki');
      case 'yen':
        return LONGEST_VALUE_BYTES.yen;
      case 'honorific':
        return (arg ? valueOf(arg) : 0) + jsonBytes(' 様');
      default:
        return 0; // an unknown helper is reported as such
    }
  };
  const longest = (node: hbs.AST.Node | undefined, counted: boolean): number => {
    if (!node) return 0;
    switch (node.type) {
      case 'Program':
        return (node as hbs.AST.Program).body.reduce((sum, n) => sum + longest(n, counted), 0);
      case 'ContentStatement': {
        // As pushed: every line break and the spaces around it become one space, and the ends are trimmed.
        let text = (node as hbs.AST.ContentStatement).value.replace(/\s*\n\s*/g, ' ');
        if (node === first) text = text.trimStart();
        if (node === last) text = text.trimEnd();
        const bytes = jsonBytes(text);
        if (counted) staticText += bytes;
        return bytes;
      }
      case 'MustacheStatement': {
        const m = node as hbs.AST.MustacheStatement;
        return m.params.length > 0 ? helperOutput(m.path, m.params) : valueOf(m.path);
      }
      case 'BlockStatement': {
        const b = node as hbs.AST.BlockStatement;
        // The longer branch; static text counted once, in the branch that wins.
        const yes = longest(b.program, false);
        const no = longest(b.inverse, false);
        return longest(yes >= no ? b.program : b.inverse, counted);
      }
      default:
        return 0;
    }
  };
  const program = Handlebars.parse(source);
  const first = program.body[0];
  const last = program.body.at(-1);
  const total = longest(program, true);
  return { total, staticText };
}

export interface PushPartSource {
  part: PushPart;
  file: string;
  source: string;
  analysis: TemplateAnalysis;
}

/**
 * The largest push notice a rule can send to residents of `locale`, as the
 * JSON payload web-push.ts encrypts (title, body, url, tag, lang), from each
 * part's static text and the longest values its variables can take (the
 * rule's own title in that locale included). Above MAX_PLAINTEXT_BYTES every
 * push of the rule would be refused at send time: reported at the part that
 * takes the most room.
 */
export function checkPushPayload(rule: Rule, locale: Locale, parts: PushPartSource[], parameters: ParameterSet, stepIndexes: number): RuleProblem | null {
  const value = (path: string) => longestValueBytes(path, rule, locale, parameters) ?? 0;
  const sizes = parts.map((p) => ({ ...p, ...longestRendering(p.source, p.analysis, value, locale) }));
  const envelope = Buffer.byteLength(JSON.stringify({ title: '', body: '', url: '', tag: '', lang: '' }));
  const tag = LONGEST_VALUE_BYTES.tagFixed + jsonBytes(rule.id) + String(Math.max(0, stepIndexes - 1)).length;
  const lang = 2;
  // The why-section a push carries after its body: the shared form, the same for every resident of the rule.
  const why = Buffer.byteLength(pushBody('', sharedWhy(rule, locale)));
  const total = envelope + tag + lang + why + sizes.reduce((sum, s) => sum + s.total, 0);
  if (total <= MAX_PLAINTEXT_BYTES) return null;
  const biggest = sizes.reduce((a, b) => (b.total > a.total ? b : a));
  const titleBytes = jsonBytes(rule.title[locale]);
  const breakdown = [
    ...sizes.map((s) => `${s.part} up to ${s.total}${s.staticText > 0 ? ` (${s.staticText} of it fixed text)` : ''}`),
    `the why-section ${why}`,
  ].join(', ');
  const titleNote = parts.some((p) => p.analysis.variables.some((v) => v.path === 'notice.title')) ? `; the rule's ${locale} title alone is ${titleBytes}` : '';
  return {
    file: biggest.file,
    line: 1,
    column: 1,
    field: biggest.part,
    message: `a push notice of rule ${rule.id} in ${locale} could be ${total} bytes, more than the ${MAX_PLAINTEXT_BYTES} that fit in one push message, so every push of it would fail (${breakdown}, with the longest names and links; tag and language ${tag + lang + envelope}${titleNote}): shorten the text`,
  };
}

/** The why-section of a push of `rule`: the shared audience names no date or value, so it is one text per locale. */
function sharedWhy(rule: Rule, locale: Locale) {
  const consent = { purpose: rule.purpose as Purpose, grantedOn: null };
  return whyYouGotThis({ title: rule.title, trigger: rule.trigger, triggerDate: '2000-01-01', explanation: null, consent }, locale, 'shared');
}

/** The template sets in a folder (every folder but the shared layouts and hidden ones). */
export function templateSets(templatesDir: string): string[] {
  if (!existsSync(templatesDir)) return [];
  return readdirSync(templatesDir)
    .filter((name) => name !== SHARED_SET && !name.startsWith('.') && statSync(join(templatesDir, name)).isDirectory())
    .sort();
}

/** "no template set X (did you mean Y?)" when a rule names a set the folder does not have; null when it has it. */
export function missingTemplateSet(templatesDir: string, set: string, suggest: (name: string, candidates: string[]) => string): string | null {
  const dir = join(templatesDir, set);
  if (existsSync(dir) && statSync(dir).isDirectory()) return null;
  const sets = templateSets(templatesDir);
  const hint = suggest(set, sets);
  return `no template set ${set}${hint}${hint || sets.length === 0 ? '' : `: the sets are ${listing(sets)}`}`;
}
