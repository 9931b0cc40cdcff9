import Handlebars from 'handlebars';
import { BLOCK_HELPERS, isNoticeHelper, type ArgumentKind } from './template-helpers';

export interface TemplatePosition {
  line: number;
  column: number;
}

export interface VariableUse extends TemplatePosition {
  path: string;
  /** Printed by the template (`{{x}}`), not only tested or passed to a helper: it must be a single value. */
  output?: boolean;
}

/** One argument of a helper call, as far as it can be known without data. */
export type HelperArgument = TemplatePosition &
  (
    | { kind: 'variable'; path: string }
    /**
     * A path inside `#each`/`#with`, relative to the item. `resolved`: what it
     * reads, when the blocks around it say (ScopedVariableUse.path).
     */
    | { kind: 'relative'; path: string; resolved?: string }
    | { kind: 'literal'; value: string | number | boolean | null | undefined }
    | { kind: 'subexpression'; helper: string }
  );

export interface HelperUse extends TemplatePosition {
  name: string;
  block: boolean;
  args: HelperArgument[];
  hashKeys: string[];
}

/** Something a notice template must not do, whatever the variables. */
export interface TemplateFinding extends TemplatePosition {
  field: string;
  message: string;
}

/** The `#each`/`#with` block that gives a path inside it its meaning. */
export interface EnclosingBlock extends TemplatePosition {
  name: 'each' | 'with';
  /** The variable it iterates or narrows to, resolved (`content.paragraphs`, `resident`). */
  path: string;
}

/**
 * A path read inside `#each`/`#with` (or through a block parameter), resolved
 * against the blocks around it: `nmae` inside `{{#with resident}}` reads
 * `resident.nmae`; `this` inside `{{#each content.paragraphs}}` reads
 * `content.paragraphs[]` (an item of the list), `x` there `content.paragraphs[].x`.
 * Paths whose block iterates something unknowable (a literal, a helper's
 * output) are not reported.
 */
export interface ScopedVariableUse extends VariableUse {
  /** As written in the template. */
  written: string;
  block: EnclosingBlock;
}

/** The marker of a list's item in a resolved path (`content.paragraphs[]`). */
export const LIST_ITEM = '[]';

export interface TemplateAnalysis {
  /** Paths that read the notice's variables directly (outside blocks, or through `../`). */
  variables: VariableUse[];
  /** Paths read inside `#each`/`#with`, resolved against the blocks. */
  scoped: ScopedVariableUse[];
  helpers: HelperUse[];
  /** `{{{x}}}` and `{{&x}}`: output that is not HTML-escaped. */
  unescaped: Array<TemplatePosition & { expression: string }>;
  unsupported: TemplateFinding[];
  /** Nothing but whitespace and comments: the part would render empty. */
  empty: boolean;
}

type Node = hbs.AST.Node;

/**
 * A context-changing block around a node: what `this` is inside it (a
 * resolved path, `null` when unknowable), and its block parameters
 * (`{{#each list as |item i|}}`).
 */
interface Scope {
  name: 'each' | 'with';
  block: EnclosingBlock | null;
  place: string | null;
  params: Map<string, string | null>;
}

/** Data variables (`@x`) Handlebars provides and templates may read. */
const DATA_VARIABLES = new Set(['index', 'first', 'last', 'key', 'locale']);

const at = (node: { loc: hbs.AST.SourceLocation }): TemplatePosition => ({ line: node.loc.start.line, column: node.loc.start.column + 1 });

/** How deep blocks may nest in a notice template: far more than any notice needs, far less than Handlebars' recursion survives. */
export const MAX_TEMPLATE_BLOCK_DEPTH = 32;

/**
 * Refuses blocks ({{#…}}, {{^…}}) nested deeper than MAX_TEMPLATE_BLOCK_DEPTH before Handlebars parses them: its
 * parser and compiler recurse once per level, and a few thousand levels overflow the stack ("Maximum call stack
 * size exceeded", which says nothing of where or why). Throws an error located like Handlebars' own.
 */
function tooDeepBlocks(source: string): void {
  let depth = 0;
  for (const match of source.matchAll(/\{\{~?(\{?)([#^/]|!--|!)/g)) {
    const kind = match[2];
    if (kind === '!' || kind === '!--') continue;
    depth += kind === '/' ? -1 : 1;
    if (depth > MAX_TEMPLATE_BLOCK_DEPTH) {
      const before = source.slice(0, match.index).split('\n');
      throw Object.assign(new Error(`blocks nested deeper than ${MAX_TEMPLATE_BLOCK_DEPTH} levels ({{#…}} inside {{#…}}); a notice needs a few`), {
        lineNumber: before.length,
        column: before[before.length - 1]!.length,
      });
    }
  }
}

/**
 * Everything validation needs to know about a template, read from its syntax
 * tree: the variables it reads (with where), the helpers it calls and with
 * what, unescaped output, and constructs notices do not support (partials,
 * decorators, `@root`). Throws Handlebars' own error when the source does not
 * parse.
 */
export function analyzeTemplate(source: string): TemplateAnalysis {
  const result: TemplateAnalysis = { variables: [], scoped: [], helpers: [], unescaped: [], unsupported: [], empty: true };

  /** A block parameter named by the path's head, innermost block first (as Handlebars looks them up). */
  const blockParam = (p: hbs.AST.PathExpression, stack: Scope[]): { scope: Scope; place: string | null } | null => {
    if (p.depth !== 0 || /^\.|^this\b/.test(p.original)) return null;
    const head = p.parts[0];
    if (head === undefined) return null;
    for (let i = stack.length - 1; i >= 0; i--) {
      const scope = stack[i]!;
      if (scope.params.has(head)) return { scope, place: scope.params.get(head)! };
    }
    return null;
  };
  const join = (place: string, rest: string[]) => (rest.length === 0 ? place : `${place}.${rest.join('.')}`);

  /** `stack`: the context-changing blocks (each, with) that enclose the node. */
  const pathUse = (
    p: hbs.AST.PathExpression,
    stack: Scope[],
  ): { kind: 'root'; path: string } | { kind: 'relative'; path: string; resolved?: string; block?: EnclosingBlock } | null => {
    const scopes = stack.length;
    if (p.data) {
      const name = p.parts[0] ?? '';
      if (name === 'root') {
        result.unsupported.push({
          ...at(p),
          field: p.original,
          message: `@root is not supported in notices: write ${p.parts.slice(1).join('.') || 'the variable'} (outside #each) instead`,
        });
      } else if (!DATA_VARIABLES.has(name) || p.parts.length > 1) {
        result.unsupported.push({
          ...at(p),
          field: p.original,
          message: `unknown data variable ${p.original} (notices have ${[...DATA_VARIABLES].map((d) => `@${d}`).join(', ')})`,
        });
      } else if (name !== 'locale' && !stack.some((s) => s.name === 'each')) {
        result.unsupported.push({ ...at(p), field: p.original, message: `${p.original} is only set inside {{#each}}: outside it, every notice would fail` });
      }
      return null;
    }
    const path = p.parts.join('.');
    const dotted = p.parts.find((part) => part.includes('.'));
    if (dotted !== undefined) {
      result.unsupported.push({ ...at(p), field: p.original, message: dottedName(p.original, dotted) });
      return null;
    }
    const param = blockParam(p, stack);
    if (param) {
      const resolved = param.place === null ? undefined : join(param.place, p.parts.slice(1));
      return { kind: 'relative', path: p.original, ...(resolved !== undefined && param.scope.block ? { resolved, block: param.scope.block } : {}) };
    }
    if (p.depth > scopes) {
      result.unsupported.push({ ...at(p), field: p.original, message: `${p.original} goes above the notice's variables` });
      return null;
    }
    if (p.depth < scopes) {
      const scope = stack[scopes - 1 - p.depth]!;
      if (scope.place === null || !scope.block) return { kind: 'relative', path: p.original };
      return { kind: 'relative', path: p.original, resolved: join(scope.place, p.parts), block: scope.block };
    }
    if (path === '') {
      if (scopes === 0) result.unsupported.push({ ...at(p), field: p.original, message: `${p.original} is every variable at once: name the one to show` });
      return null;
    }
    return { kind: 'root', path };
  };

  const visitValue = (expr: hbs.AST.Expression, stack: Scope[], output = false): HelperArgument => {
    const pos = at(expr);
    switch (expr.type) {
      case 'PathExpression': {
        const use = pathUse(expr as hbs.AST.PathExpression, stack);
        if (!use) return { ...pos, kind: 'relative', path: (expr as hbs.AST.PathExpression).original };
        if (use.kind === 'root') {
          result.variables.push({ ...pos, path: use.path, ...(output ? { output } : {}) });
          return { ...pos, kind: 'variable', path: use.path };
        }
        if (use.resolved === undefined || !use.block) return { ...pos, kind: 'relative', path: use.path };
        result.scoped.push({ ...pos, path: use.resolved, written: use.path, block: use.block, ...(output ? { output } : {}) });
        return { ...pos, kind: 'relative', path: use.path, resolved: use.resolved };
      }
      case 'SubExpression': {
        const s = expr as hbs.AST.SubExpression;
        const name = helperName(s.path);
        call(name, s.path, s.params, s.hash, false, stack);
        return { ...pos, kind: 'subexpression', helper: name };
      }
      case 'StringLiteral':
      case 'NumberLiteral':
      case 'BooleanLiteral':
        return { ...pos, kind: 'literal', value: (expr as hbs.AST.StringLiteral | hbs.AST.NumberLiteral | hbs.AST.BooleanLiteral).value };
      case 'NullLiteral':
        return { ...pos, kind: 'literal', value: null };
      default:
        return { ...pos, kind: 'literal', value: undefined };
    }
  };

  const call = (
    name: string,
    path: hbs.AST.Expression,
    params: hbs.AST.Expression[],
    hash: hbs.AST.Hash | undefined,
    block: boolean,
    stack: Scope[],
  ): HelperArgument[] => {
    const args = params.map((e) => visitValue(e, stack));
    const hashKeys = hash?.pairs.map((pair) => pair.key) ?? [];
    hash?.pairs.forEach((pair) => visitValue(pair.value, stack));
    result.helpers.push({ ...at(path), name, block, args, hashKeys });
    return args;
  };

  const visit = (node: Node | undefined, stack: Scope[]): void => {
    if (!node) return;
    switch (node.type) {
      case 'Program':
        (node as hbs.AST.Program).body.forEach((n) => visit(n, stack));
        break;
      case 'ContentStatement':
        if ((node as hbs.AST.ContentStatement).value.trim() !== '') result.empty = false;
        break;
      case 'CommentStatement':
        break;
      case 'MustacheStatement': {
        const m = node as hbs.AST.MustacheStatement;
        result.empty = false;
        if (!m.escaped) result.unescaped.push({ ...at(m), expression: helperName(m.path) });
        const bareName = m.path.type === 'PathExpression' && !(m.path as hbs.AST.PathExpression).data ? (m.path as hbs.AST.PathExpression).original : null;
        const isCall =
          m.params.length > 0 ||
          (m.hash?.pairs.length ?? 0) > 0 ||
          (bareName !== null && (isNoticeHelper(bareName) || (BLOCK_HELPERS as readonly string[]).includes(bareName)));
        if (isCall) call(helperName(m.path), m.path, m.params, m.hash, false, stack);
        else if (m.path.type === 'PathExpression') visitValue(m.path, stack, true);
        else {
          // Handlebars reads {{"x"}}, {{1}}, {{true}} and {{null}} as the variable of that name.
          const literal = m.path as hbs.AST.Literal;
          const name =
            literal.type === 'NullLiteral'
              ? 'null'
              : literal.type === 'UndefinedLiteral'
                ? 'undefined'
                : String((literal as hbs.AST.StringLiteral | hbs.AST.NumberLiteral | hbs.AST.BooleanLiteral).value);
          if (name.includes('.')) result.unsupported.push({ ...at(m.path), field: name, message: dottedName(JSON.stringify(name), name) });
          else result.variables.push({ ...at(m.path), path: name, output: true });
        }
        break;
      }
      case 'BlockStatement': {
        const b = node as hbs.AST.BlockStatement;
        result.empty = false;
        const name = helperName(b.path);
        const args = call(name, b.path, b.params, b.hash, true, stack);
        if (name === 'each' || name === 'with') {
          const target = args[0];
          const targetPath =
            args.length !== 1 || !target ? null : target.kind === 'variable' ? target.path : target.kind === 'relative' ? (target.resolved ?? null) : null;
          const place = targetPath === null ? null : name === 'each' ? `${targetPath}${LIST_ITEM}` : targetPath;
          const block: EnclosingBlock | null = targetPath === null ? null : { name, path: targetPath, ...at(b) };
          const params = new Map<string, string | null>();
          const [first, second] = b.program?.blockParams ?? [];
          if (first !== undefined) params.set(first, place);
          // The index (or key) of #each: a number, with no parts to check.
          if (second !== undefined) params.set(second, null);
          visit(b.program, [...stack, { name, block, place, params }]);
        } else {
          visit(b.program, stack);
        }
        visit(b.inverse, stack);
        break;
      }
      case 'PartialStatement':
      case 'PartialBlockStatement':
        result.empty = false;
        result.unsupported.push({
          ...at(node as hbs.AST.PartialStatement),
          field: 'partial',
          message: 'partials ({{> name}}) are not supported in notices: each part is one file',
        });
        break;
      case 'Decorator':
      case 'DecoratorBlock':
        result.unsupported.push({ ...at(node as hbs.AST.Decorator), field: 'decorator', message: 'decorators ({{* name}}) are not supported in notices' });
        break;
      default:
        break;
    }
  };
  tooDeepBlocks(source);
  visit(Handlebars.parse(source), []);
  return result;
}

/** `{{"resident.name"}}` and `{{[resident.name]}}` read one name that has a dot in it, not the path. */
function dottedName(written: string, name: string): string {
  return `{{${written}}} reads one variable named "${name}", dot included, and notices have none: write {{${name}}}`;
}

/** A mustache's or call's path as written (`resident.name`, `yen`). */
function helperName(path: hbs.AST.Expression): string {
  return path.type === 'PathExpression' ? (path as hbs.AST.PathExpression).original : String((path as hbs.AST.StringLiteral).value);
}

/**
 * The variables a template reads, with where it reads them. Paths inside
 * `#each`/`#with` blocks are relative to the item and not reported; the
 * iterated path itself is.
 */
export function templateVariables(source: string): VariableUse[] {
  return analyzeTemplate(source).variables;
}

/** What a notice variable holds, so validation can tell `{{warekiDate trigger.date}}` (formatted text) from `trigger.iso`. */
export type VariableKind = ArgumentKind | 'boolean' | 'list';

/** What each item of a list variable is (`{{#each content.paragraphs}}{{this}}{{/each}}`): no item has parts. */
export const LIST_ITEM_KINDS: ReadonlyMap<string, VariableKind> = new Map<string, VariableKind>([
  ['content.paragraphs', 'text'],
  ['why.lines', 'text'],
]);

/** The layout parts that get the rendered body as `content.body` and `content.paragraphs`. */
export const PARTS_WITH_CONTENT: readonly string[] = ['email.html', 'email.text', 'letter'];

export interface VariableCatalogOptions {
  /** The rule is triggered by a life event (`event.*`). */
  event: boolean;
  /** The rule declares a deadline (`deadline.*`). */
  deadline: boolean;
  /** The rule's trigger is a household member's date (anniversary): `member.*` names that member (the child of a check-up). */
  member?: boolean;
  parameters: ReadonlyArray<{ id: string; type: 'integer' | 'date' | 'boolean' | 'string' }>;
  /** Include `content.*` (only the layouts of PARTS_WITH_CONTENT have it). */
  content?: boolean;
}

/**
 * Every variable a rule's notices can read, with its kind: the single list
 * that NoticeVariables (render-notice.ts), noticeVariables (the activity that
 * fills it) and validation agree on. Dates come twice: `.date` formatted in
 * the resident's language, `.iso` raw for helpers (`{{warekiDate deadline.iso}}`).
 */
export function noticeVariableCatalog(options: VariableCatalogOptions): Map<string, VariableKind> {
  const vars = new Map<string, VariableKind>([
    ['resident.name', 'text'],
    ['resident.honorificName', 'text'],
    ['city.name', 'text'],
    ['city.office', 'text'],
    ['city.phone', 'text'],
    // The rule's office (config/offices.yaml); email and web are empty when the office has none.
    ['office.name', 'text'],
    ['office.phone', 'text'],
    ['office.postalCode', 'text'],
    ['office.address', 'text'],
    ['office.hours', 'text'],
    ['office.email', 'text'],
    ['office.web', 'text'],
    // The rule's online application; without one, url is the notice's own page and name is '' (test with {{#if application.name}}).
    ['application.url', 'text'],
    ['application.name', 'text'],
    ['notice.title', 'text'],
    // Why the resident got this notice (engine/rule-language/why-you-got-this.ts): the layouts show it on every channel.
    ['why.heading', 'text'],
    ['why.lines', 'list'],
    ['trigger.date', 'text'],
    ['trigger.iso', 'isoDate'],
    ['links.open', 'text'],
    ['links.apply', 'text'],
    ['links.acknowledge', 'text'],
    ['links.notForMe', 'text'],
    ['links.stop', 'text'],
    ['links.code', 'text'],
  ]);
  if (options.content !== false) {
    vars.set('content.body', 'text');
    vars.set('content.paragraphs', 'list');
  }
  if (options.event) {
    vars.set('event.date', 'text');
    vars.set('event.iso', 'isoDate');
  }
  if (options.member) vars.set('member.givenName', 'text');
  if (options.deadline) {
    vars.set('deadline.date', 'text');
    vars.set('deadline.iso', 'isoDate');
  }
  const kinds = { integer: 'number', date: 'isoDate', boolean: 'boolean', string: 'text' } as const;
  for (const p of options.parameters) vars.set(`param.${p.id}`, kinds[p.type]);
  return vars;
}
