import { isMap, isNode, isPair, isScalar, isSeq, parseDocument, type Document, type LineCounter, type YAMLError } from 'yaml';

/**
 * Messages for the person who wrote a rule or parameter file: what the YAML
 * library reports, said without parser jargon; IME slips of a Japanese
 * keyboard (全角 colon, space, digits, letters) named with the half-width
 * replacement; and the nesting limit checked on the raw text, before the
 * parser, the schema or the checks can recurse.
 */

/** Conditions (all / any / not / count) nest at most this deep; a comparison on its own is level 1. */
export const MAX_CONDITION_DEPTH = 32;

/**
 * YAML nesting at which a file is refused before it is parsed. Conditions
 * nested MAX_CONDITION_DEPTH levels take at most about twice as many YAML
 * levels; the parser, the schema and the checks recurse safely far deeper.
 */
export const MAX_YAML_DEPTH = 128;

export const TOO_DEEP = `conditions nested deeper than ${MAX_CONDITION_DEPTH} levels`;

// ---------------------------------------------------------------------------
// Suggestions

/** The nearest candidate to a misspelt name, case-insensitively (`Purpose` → purpose, `atleast` → atLeast); null if none is close. */
export function closest(name: string, candidates: readonly string[]): string | null {
  let best: { c: string; d: number } | null = null;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (!best || d < best.d) best = { c, d };
  }
  if (!best || best.c === name) return null;
  return best.d <= Math.max(2, Math.floor(name.length / 3)) ? best.c : null;
}

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** A text quoted back to its writer, cut to a readable length. */
export function shorten(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max).join('')}…`;
}

/** A name quoted back to its writer: as is when plain, in quotes when it has spaces or is empty, and never too long. */
export function showName(name: string): string {
  return /^[\p{L}\p{N}_.-]+$/u.test(name) ? shorten(name, 40) : JSON.stringify(shorten(name, 40));
}

// ---------------------------------------------------------------------------
// Full-width (全角) characters

const FULL_WIDTH_SPACE = '\u3000';
/** Full-width forms of ASCII (！ to ～) and the ideographic space. */
const FULL_WIDTH = /[\uFF01-\uFF5E\u3000]/;

export function hasFullWidth(text: string): boolean {
  return FULL_WIDTH.test(text);
}

/** Full-width ASCII forms and the ideographic space, made half-width. */
export function toHalfWidth(text: string): string {
  return text.replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/\u3000/g, ' ');
}

/** What kinds of full-width characters a text holds, named for the writer. */
export function fullWidthKinds(text: string): string[] {
  const kinds: string[] = [];
  if (text.includes('：')) kinds.push('colon "："');
  if (text.includes(FULL_WIDTH_SPACE)) kinds.push('space (U+3000)');
  if (/[０-９]/.test(text)) kinds.push('digits');
  if (/[Ａ-Ｚａ-ｚ]/.test(text)) kinds.push('letters');
  if (/[\uFF01-\uFF0F\uFF1B-\uFF20\uFF3B-\uFF40\uFF5B-\uFF5E]/.test(text)) kinds.push('symbols');
  return kinds;
}

const fullWidthPhrase = (kinds: string[]) => `full-width (全角) ${kinds.join(', ')}`;

/** A value written in full-width digits or letters that should be half-width (`１５`, `ｅｍａｉｌ`), in words; null if it is not one. */
export function fullWidthValueHint(value: string): string | null {
  if (!hasFullWidth(value) || !/^[\s0-9A-Za-z._\-\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A\uFF0D\uFF0E\uFF3F\u3000]+$/.test(value)) return null;
  return `${JSON.stringify(value)} is written in ${fullWidthPhrase(fullWidthKinds(value))}: write it half-width (半角) as ${toHalfWidth(value).trim()}`;
}

/** Free-text fields, where full-width characters belong. */
const TEXT_KEYS = new Set(['ja', 'en', 'ja-easy', 'description', 'reference', 'unit', 'name']);

/**
 * A line of a YAML file with full-width characters where YAML needs ASCII:
 * in the indentation, a field name, the colon after it, the space after the
 * colon, or a value written in full-width digits or letters. Returns the
 * message naming them with the line as it should be, or null.
 */
export function fullWidthLineHint(line: string): string | null {
  if (!hasFullWidth(line) || line.trimStart().startsWith('#')) return null;
  // With a colon after the field name if there is one, else the line as a whole.
  const m =
    /^([ \u3000]*)((?:-[ \u3000]+)*)([^:：#"'\s\u3000][^:：#]*?)([ \u3000]*)(：|:(?=[ \u3000]|$))([ \u3000]*)(.*)$/.exec(line) ??
    /^([ \u3000]*)((?:-[ \u3000]+)*)()()()()(.*)$/.exec(line);
  if (!m) return null;
  const [, indent = '', dashes = '', key = '', beforeColon = '', colon = '', afterColon = '', rest = ''] = m;
  const structural = indent + dashes + key + beforeColon + colon + (colon ? afterColon : '');
  const keyName = toHalfWidth(key).trim();
  const valueHint = colon && !TEXT_KEYS.has(keyName) ? fullWidthValueHint(rest) : null;
  const valueFixed = valueHint ? toHalfWidth(rest).trim() : rest;
  if (!hasFullWidth(structural) && !valueHint) return null;
  const found = fullWidthKinds(structural + (valueHint ? rest : ''));
  const fixed = colon ? `${toHalfWidth(indent + dashes)}${keyName}: ${valueFixed}`.trimEnd() : toHalfWidth(line);
  return `${fullWidthPhrase(found)} where YAML needs half-width (半角) characters: write "${shorten(fixed, 80)}"`;
}

// ---------------------------------------------------------------------------
// The raw text: nesting depth and unclosed quotes, found without the parser

export interface RawScan {
  /** Where the nesting first goes beyond the limit, and under which top-level field. */
  tooDeep: { offset: number; topKey: string | null } | null;
  /** Where a quoted text begins that is never closed. */
  unclosedQuote: { offset: number; quote: '"' | "'" } | null;
}

/**
 * Follows block indentation, `- ` items, flow brackets, quotes, comments and
 * block scalars closely enough to bound the nesting depth of a YAML text from
 * above (never from below by more than a factor of two), in one pass without
 * recursion.
 */
export function scanYamlText(text: string, limit: number = MAX_YAML_DEPTH): RawScan {
  const indents: number[] = [];
  let flow = 0;
  let base = 0;
  let quote: { char: '"' | "'"; offset: number } | null = null;
  let topKey: string | null = null;
  let blockScalarIndent = -1;
  // The previous significant character ('' at the start of a block line, 'a' for plain text): can a bracket or a quote start here?
  let last = '';
  let lineStart = 0;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd < 0) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd);
    const indent = /^ */.exec(line)![0].length;
    let j = 0;
    let blockScalar = false;
    if (!quote && flow === 0) {
      const content = line.slice(indent);
      if (content.trim() === '' || content.startsWith('#') || (blockScalarIndent >= 0 && indent > blockScalarIndent)) {
        lineStart = lineEnd + 1;
        continue;
      }
      blockScalarIndent = -1;
      while (indents.length > 0 && indents[indents.length - 1]! > indent) indents.pop();
      if (indents.length === 0 || indents[indents.length - 1]! < indent) indents.push(indent);
      if (indent === 0) {
        const key = /^([^\s:#'"[{-][^:#]*?)\s*:(\s|$)/.exec(content);
        if (key) topKey = key[1]!;
      }
      j = indent;
      let dashes = 0;
      while (line[j] === '-' && (line[j + 1] === ' ' || j + 1 === line.length)) {
        dashes += 1;
        j += 1;
        while (line[j] === ' ') j += 1;
      }
      base = indents.length + dashes;
      if (base > limit) return { tooDeep: { offset: lineStart + j, topKey }, unclosedQuote: null };
      last = '';
    }
    for (; j < line.length; j++) {
      const c = line[j]!;
      if (quote) {
        if (quote.char === '"' && c === '\\') j += 1;
        else if (c === quote.char) {
          if (quote.char === "'" && line[j + 1] === "'") j += 1;
          else {
            quote = null;
            last = 'a';
          }
        }
        continue;
      }
      if (c === ' ' || c === '\t') continue;
      const prev = j === 0 ? ' ' : line[j - 1]!;
      if (c === '#' && (prev === ' ' || prev === '\t')) break;
      const tokenStart = last === '' || (flow > 0 ? /[[{,:?]/.test(last) : /[:?-]/.test(last));
      const next = line[j + 1];
      const endsToken = next === undefined || next === ' ' || next === '\t' || (flow > 0 && /[,\]}]/.test(next));
      if ((c === '"' || c === "'") && tokenStart) {
        quote = { char: c, offset: lineStart + j };
      } else if ((c === '[' || c === '{') && tokenStart) {
        flow += 1;
        last = c;
        if (base + flow > limit) return { tooDeep: { offset: lineStart + j, topKey }, unclosedQuote: null };
      } else if ((c === ']' || c === '}') && flow > 0) {
        flow -= 1;
        last = 'a';
      } else if (c === ',' && flow > 0) {
        last = ',';
      } else if ((c === ':' || c === '-' || c === '?') && endsToken) {
        last = c;
      } else if ((c === '|' || c === '>') && tokenStart && flow === 0) {
        blockScalar = true;
        last = 'a';
      } else {
        last = 'a';
      }
    }
    if (blockScalar && !quote && flow === 0) blockScalarIndent = indent;
    lineStart = lineEnd + 1;
  }
  return { tooDeep: null, unclosedQuote: quote ? { offset: quote.offset, quote: quote.char } : null };
}

/** The message for nesting found too deep in the raw text. */
export function tooDeepMessage(topKey: string | null): string {
  return topKey === 'conditions'
    ? TOO_DEEP
    : `nested deeper than ${MAX_YAML_DEPTH} levels: only conditions nest in a rule, at most ${MAX_CONDITION_DEPTH} levels deep`;
}

/** Where conditions first go deeper than MAX_CONDITION_DEPTH (a path into the rule), or null. */
export function tooDeepCondition(conditions: unknown, path: Array<string | number> = ['conditions'], depth = 1): Array<string | number> | null {
  if (conditions === null || typeof conditions !== 'object' || Array.isArray(conditions)) return null;
  if (depth > MAX_CONDITION_DEPTH) return path;
  const c = conditions as Record<string, unknown>;
  for (const key of ['all', 'any'] as const) {
    const items = c[key];
    if (Array.isArray(items)) {
      for (let i = 0; i < items.length; i++) {
        const found = tooDeepCondition(items[i], [...path, key, i], depth + 1);
        if (found) return found;
      }
    }
  }
  if (c.not !== undefined) {
    const found = tooDeepCondition(c.not, [...path, 'not'], depth + 1);
    if (found) return found;
  }
  const count = c.count;
  if (count !== null && typeof count === 'object' && 'members' in count) {
    const found = tooDeepCondition((count as Record<string, unknown>).members, [...path, 'count', 'members'], depth + 1);
    if (found) return found;
  }
  return null;
}

// ---------------------------------------------------------------------------
// The YAML library's errors, in words

export interface LocatedMessage {
  offset: number;
  field: string;
  message: string;
}

/**
 * The duplicate key the parser reported at offset: its path, where it is and
 * where the same key first appears in the same map. The parser's offset is not
 * always the key's own (after an empty value it is the end of that line), so
 * the first duplicate at or after it is taken.
 */
function findDuplicate(doc: Document, offset: number): { field: string; key: string; offset: number; firstOffset: number } | null {
  const found: Array<{ field: string; key: string; offset: number; firstOffset: number }> = [];
  const stack: Array<{ node: unknown; path: string[] }> = [{ node: doc.contents, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (isMap(node)) {
      const firstOf = new Map<string, number>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : null;
        if (key === null || !isNode(pair.key)) continue;
        const at = pair.key.range?.[0] ?? 0;
        const first = firstOf.get(key);
        if (first === undefined) firstOf.set(key, at);
        else found.push({ field: [...path, key].join('.'), key, offset: at, firstOffset: first });
        stack.push({ node: pair.value, path: [...path, key] });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => stack.push({ node: isPair(item) ? item.value : item, path: [...path, String(i)] }));
    }
  }
  found.sort((a, b) => a.offset - b.offset);
  return found.find((d) => d.offset >= offset) ?? found[0] ?? null;
}

const lineText = (text: string, offset: number) => {
  const start = text.lastIndexOf('\n', Math.max(0, offset - 1)) + 1;
  const end = text.indexOf('\n', offset);
  return text.slice(start, end < 0 ? text.length : end);
};

/**
 * One YAML error in words for the person who wrote the file, located.
 * `raw` is the scan of the same text (for where an unclosed quote began).
 */
export function describeYamlError(error: YAMLError, text: string, doc: Document, lineCounter: LineCounter, raw: RawScan, holds = 'one rule'): LocatedMessage {
  const offset = error.pos[0];
  const first = error.message.split('\n')[0]!;
  const line = lineText(text, offset);
  const at = (message: string, where = offset, field = ''): LocatedMessage => ({ offset: where, field, message });
  switch (error.code) {
    case 'DUPLICATE_KEY': {
      const dup = findDuplicate(doc, offset);
      if (!dup) return at('a field appears twice in the same place: keep one');
      return at(`field ${dup.key} appears twice (first on line ${lineCounter.linePos(dup.firstOffset).line}): keep one`, dup.offset, dup.field);
    }
    case 'MULTIPLE_DOCS':
      return at(`a file holds ${holds}; remove the second \`---\` part${holds === 'one rule' ? ' (or put the second rule in a file of its own)' : ''}`);
    case 'TAB_AS_INDENT':
      return at('indented with a tab: indent with spaces');
    case 'BLOCK_AS_IMPLICIT_KEY': {
      const m = /^(\s*(?:-\s+)?[^:]+):\s+(.*)$/.exec(line);
      const example = m ? ` — ${shorten(m[1]!.trim(), 40)}: "${shorten(m[2]!.replace(/"/g, '\\"'), 60)}"` : '';
      return at(`text with ": " in it reads as a new field: put the text in quotes${example}`);
    }
    case 'MULTILINE_IMPLICIT_KEY':
      return at(
        'expected "field: value" on this line — a field name, a colon and a space (a value running over several lines must be indented below its field, or quoted)',
      );
    case 'MISSING_CHAR':
      if (/Missing closing/i.test(first)) {
        const q = raw.unclosedQuote;
        const mark = /'quote/.test(first) ? "'" : '"';
        return q
          ? at(`the quotation mark ${q.quote} opened here is never closed`, q.offset)
          : at(`a quotation mark ${mark} is not closed: the text runs on to this point`);
      }
      if (/followed by map values/.test(first)) return at('expected "field: value" here — a colon and a space after the field name');
      if (/Missing , or :|Missing , between/.test(first)) return at('inside [ ] or { }, items are separated by commas and a field from its value by ": "');
      if (/Missing space after :/.test(first)) return at('inside { }, a field is followed by a colon and a space (days: 3)');
      if (/Sequence item without -/.test(first)) return at('a list item without "- " in front of it');
      if (/Comments must be separated/.test(first)) return at('a # starts a comment only after a space: put a space before it, or put the text in quotes');
      if (/Tags and anchors/.test(first)) return at('a value starting with & or ! must be put in quotes');
      if (/directives-end|doc-start/.test(first)) return at('a line starting with % or --- is out of place here: remove it');
      return at('something is missing here: check the quotes, brackets and ": " on this line');
    case 'BAD_INDENT':
      if (/mapping items must start at the same column/.test(first))
        return at('indented differently from the fields above it: the fields of one group start in the same column');
      if (/sequence items must start at the same column/.test(first))
        return at('indented differently from the list items above it: the items ("- ") of one list start in the same column');
      if (/Flow (map|sequence)/.test(first)) {
        const close = /Flow map/.test(first) ? '}' : ']';
        return at(`a ${close === '}' ? '{' : '['} is not closed with ${close} (or the lines inside it are not indented below their field)`);
      }
      return at('wrong indentation: indent each field two spaces below the one it belongs to');
    case 'UNEXPECTED_TOKEN': {
      const c = text[offset] ?? '';
      const before = text
        .slice(Math.max(0, offset - 200), offset)
        .trimEnd()
        .slice(-1);
      if (before === '}' || before === ']') return at(`text after the closing ${before}: remove it, or put the whole value in quotes`);
      if (before === '"' || before === "'") return at(`text after the closing quotation mark ${before}: put all of the text inside the quotes`);
      if (/Unexpected , in|Unexpected empty item/.test(first)) return at('a comma with no item before it, inside [ ] or { }');
      return at(
        c.trim() ? `unexpected ${JSON.stringify(c)} here${/[\]}]/.test(c) ? ': it closes a bracket that was never opened' : ''}` : 'unexpected text here',
      );
    }
    case 'BAD_SCALAR_START': {
      const c = text[offset] ?? '';
      return at(`a value cannot start with ${c}: put the value in quotes`);
    }
    case 'BAD_DQ_ESCAPE':
      return at('a backslash in "double-quoted" text starts an escape it does not know: write \\\\ for a backslash, or use single quotes');
    case 'BLOCK_IN_FLOW':
      return at('a "- item" or "field:" line inside [ ] or { }: close the brackets, or write the list one item per line without them');
    case 'KEY_OVER_1024_CHARS':
      return at('a field name longer than 1024 characters: is a colon missing in a text?');
    case 'BAD_ALIAS':
    case 'ALIAS_PROPS':
    case 'MULTIPLE_ANCHORS':
      return at('& and * mark YAML anchors, which rule files do not need: put the text in quotes');
    case 'RESOURCE_EXHAUSTION':
      return at(`too large or nested too deep to read (${TOO_DEEP} at most)`);
    case 'BAD_DIRECTIVE':
      return at('a line starting with % is a YAML directive: remove it, or put the text in quotes');
    case 'MULTIPLE_TAGS':
    case 'TAG_RESOLVE_FAILED':
    case 'BAD_PROP_ORDER':
      return at('a value starting with ! is a YAML tag: put the text in quotes');
    default:
      return at(`cannot be read here (${first})`);
  }
}

/** Where a problem of the whole document (an empty file, a list) is: the first line that is not a comment. */
export function describeNotAMap(input: unknown, what: string, fields: string): string {
  if (input === null || input === undefined) return `the file is empty (or only comments): it should hold ${what} — ${fields}, one "field: value" per line`;
  if (Array.isArray(input)) return `the file holds a list, not ${what}: write ${fields}, one "field: value" per line (no "- " in front)`;
  return `the file holds a single value (${JSON.stringify(input).slice(0, 40)}), not ${what}: write ${fields}, one "field: value" per line`;
}

/** A YAML file's content, or its first mistake located by offset and worded for its author. */
export type YamlDocumentRead = { ok: true; doc: Document; input: unknown } | ({ ok: false } & LocatedMessage);

/**
 * Parses one YAML document a person wrote (a rule, a parameter, example cases)
 * after scanYamlText found it shallow enough: the first parser error only — one
 * slip upsets the parser several times over the lines after it — worded by
 * describeYamlError; aliases that cannot be resolved (or that multiply the
 * document) are refused rather than expanded.
 */
export function readYamlDocument(text: string, lineCounter: LineCounter, raw: RawScan, holds: string): YamlDocumentRead {
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const first = [...doc.errors].sort((a, b) => a.pos[0] - b.pos[0])[0]!;
    return { ok: false, ...describeYamlError(first, text, doc, lineCounter, raw, holds) };
  }
  try {
    return { ok: true, doc, input: doc.toJS({ maxAliasCount: 50 }) };
  } catch {
    return { ok: false, offset: 0, field: '', message: 'uses YAML anchors and aliases (& and *) that cannot be resolved: write the values out' };
  }
}
