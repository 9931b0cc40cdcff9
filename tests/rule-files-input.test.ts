/**
 * Files as policy staff and template authors really save them: a rule or a
 * template in Shift_JIS (the default of Notepad and Excel on Japanese
 * Windows), a stray byte, a BOM and CRLF line ends; and files no one should
 * write but someone will — nested thousands of levels, a 5 MB title, `.YAML`,
 * an empty folder. Each is refused by `rules validate`, `templates check`, the
 * renderer and the engine at start with the file, line, column and reason —
 * never mojibake, never a stack trace — or accepted when it is fine.
 */
import { runOshirase } from './support/run-cli';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkTemplateSets } from '../cli/template-commands';
import { ConfigError, loadEngineConfig } from '../config/engine-config';
import { loadWards } from '../config/wards';
import { formatProblem, loadRuleSet, RuleValidationError, type RuleProblem } from '../engine/rule-language/load-rules';
import { loadParameters } from '../engine/rule-language/parameters';
import { NoticeRenderer, TemplateError, type NoticeVariables } from '../engine/notices/render-notice';
import { openEngineContext } from '../runtime/engine-context';
import { decodeTextFile } from '../foundation/read-text-file';
import { shiftJis } from './support/shift-jis';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NOT_UTF8_SJIS = 'not UTF-8 (saved as Shift_JIS?) — save it as UTF-8';
const work = mkdtempSync(join(tmpdir(), 'oshirase-rule-files-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const childAllowance = readFileSync(join(ROOT, 'rules/child-allowance.yaml'), 'utf8');

/** A folder holding one rule file with these bytes, named as the rule's id requires. */
function ruleFolder(name: string, content: string | Buffer, fileName = 'child-allowance.yaml'): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, fileName), content);
  return dir;
}

function problemsOf(paths: string[], templatesDir = join(ROOT, 'templates'), parametersDir = join(ROOT, 'parameters')): RuleProblem[] {
  try {
    loadRuleSet({ paths, parametersDir, templatesDir });
    return [];
  } catch (error) {
    if (error instanceof RuleValidationError) return error.problems;
    throw error;
  }
}

const shown = (file: string) => relative(process.cwd(), file) || file;

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const run = runOshirase(args, join(work, 'cli-data'));
  expect(run.error).toBeUndefined();
  const output = run.output;
  expect(output).not.toMatch(/^ {4}at /m);
  expect(output).not.toMatch(/Maximum call stack|RangeError|TypeError/);
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('strict UTF-8: the text decoder', () => {
  it('refuses Shift_JIS Japanese and names it; refuses a stray byte by offset, line and column; accepts a BOM and CRLF', () => {
    expect(decodeTextFile(shiftJis('title: 出生のお知らせ\n'))).toEqual({
      ok: false,
      problem: { kind: 'encoding', line: 1, column: 1, message: NOT_UTF8_SJIS },
    });
    const stray = Buffer.concat([Buffer.from('id: x\nja: 出生'), Buffer.from([0xff]), Buffer.from('届\n')]);
    const refused = decodeTextFile(stray);
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.problem).toMatchObject({ line: 2, column: 7 });
      expect(refused.problem.message).toBe('not UTF-8: byte 0xFF at byte offset 16 (line 2, column 7) is not valid UTF-8 — save it as UTF-8');
    }
    expect(decodeTextFile(Buffer.from('\uFEFFid: x\r\nja: 出生\r\n'))).toEqual({ ok: true, text: 'id: x\nja: 出生\n' });
    // Notepad's "Unicode" is UTF-16 with a byte order mark.
    const utf16 = decodeTextFile(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('id: x\n', 'utf16le')]));
    expect(utf16.ok ? '' : utf16.problem.message).toBe('not UTF-8 (saved as UTF-16?) — save it as UTF-8');
    // Overlong forms and encoded surrogates are not UTF-8 either.
    expect(decodeTextFile(Buffer.from([0x61, 0xc0, 0xaf])).ok).toBe(false);
    expect(decodeTextFile(Buffer.from([0x61, 0xed, 0xa0, 0x80])).ok).toBe(false);
  });
});

describe('a rule saved as Shift_JIS', () => {
  const dir = ruleFolder('sjis-rule', shiftJis(childAllowance));
  const file = join(dir, 'child-allowance.yaml');

  it('is refused by the loader with FILE:1:1: not UTF-8 (saved as Shift_JIS?)', () => {
    expect(problemsOf([dir]).map(formatProblem)).toEqual([`${shown(file)}:1:1: ${NOT_UTF8_SJIS}`]);
  });

  it('is refused by oshirase rules validate (exit 1, one line) and by oshirase templates check', () => {
    const validate = cli(['rules', 'validate', file]);
    expect(validate.status).toBe(1);
    expect(validate.stderr).toContain(`${relative(ROOT, file)}:1:1: ${NOT_UTF8_SJIS}\n`);
    const check = cli(['templates', 'check', file]);
    expect(check.status).toBe(1);
    expect(check.stderr).toContain(`${relative(ROOT, file)}:1:1: ${NOT_UTF8_SJIS}`);
  });

  it('keeps the engine from starting, naming the file', async () => {
    const config = loadEngineConfig({ OSHIRASE_DATA_DIR: join(work, 'engine-data') });
    const error = await openEngineContext({ config, rulesDir: dir }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RuleValidationError);
    expect((error as Error).message).toBe(`${shown(file)}:1:1: ${NOT_UTF8_SJIS}`);
  });
});

describe('a template saved as Shift_JIS', () => {
  const templatesDir = join(work, 'sjis-templates');
  cpSync(join(ROOT, 'templates'), templatesDir, { recursive: true });
  const body = join(templatesDir, 'child-allowance/ja/body.hbs');
  writeFileSync(body, shiftJis(readFileSync(join(ROOT, 'templates/child-allowance/ja/body.hbs'), 'utf8')));
  const rule = join(ROOT, 'rules/child-allowance.yaml');

  it('is refused by rules validate and templates check at the template file', () => {
    expect(problemsOf([rule], templatesDir).map(formatProblem)).toContain(`${shown(body)}:1:1: ${NOT_UTF8_SJIS}`);
    const report = checkTemplateSets({ paths: [rule], templatesDir, parametersDir: join(ROOT, 'parameters') });
    expect(report.problems.map(formatProblem)).toContain(`${shown(body)}:1:1: ${NOT_UTF8_SJIS}`);
    const check = cli(['templates', 'check', 'rules/child-allowance.yaml', '--templates', templatesDir]);
    expect(check.status).toBe(1);
    expect(check.stderr).toContain(`:1:1: ${NOT_UTF8_SJIS}`);
    const validate = cli(['rules', 'validate', 'rules/child-allowance.yaml', '--templates', templatesDir]);
    expect(validate.status).toBe(1);
    expect(validate.stderr).toContain(`child-allowance/ja/body.hbs:1:1: ${NOT_UTF8_SJIS}`);
  });

  it('is refused by the renderer: nothing is sent as mojibake', () => {
    const vars: NoticeVariables = {
      resident: { name: '佐藤 美咲', honorificName: '佐藤 美咲 様' },
      city: { name: 'Sample City', office: 'City Office', phone: '000-0000-0000' },
      office: { name: 'City Office', phone: '000-0000-0000', postalCode: '000-0000', address: 'Sample City 1-1', hours: 'Weekdays', email: '', web: '' },
      application: { url: '', name: '' },
      notice: { title: '児童手当の申請のご案内' },
      why: { heading: 'このお知らせをお送りした理由', lines: [] },
      trigger: { date: '2025年1月1日', iso: '2025-01-01' },
      event: { date: '2025年1月1日', iso: '2025-01-01' },
      deadline: { date: '2025年1月16日', iso: '2025-01-16' },
      links: {
        open: 'https://example.test/o',
        apply: 'https://example.test/a',
        acknowledge: 'https://example.test/k',
        notForMe: 'https://example.test/n',
        stop: 'https://example.test/s',
        code: '',
      },
      param: {},
    };
    const render = () => new NoticeRenderer(templatesDir).render('child-allowance', 'email', 'ja', vars);
    expect(render).toThrow(TemplateError);
    expect(render).toThrow(`${body}:1:1: ${NOT_UTF8_SJIS}`);
  });
});

describe('files that are fine', () => {
  it('a rule with a BOM and CRLF line ends is valid, and found as .YAML', () => {
    const dir = ruleFolder('bom-crlf', `\uFEFF${childAllowance.replace(/\n/g, '\r\n')}`, 'child-allowance.YAML');
    const set = loadRuleSet({ paths: [dir], parametersDir: join(ROOT, 'parameters'), templatesDir: join(ROOT, 'templates') });
    expect(set.rules.map((r) => r.rule.id)).toEqual(['child-allowance']);
    expect(set.rules[0]!.rule.title.ja).toBe('児童手当の申請のご案内');
  });
});

describe('rule files no one should write', () => {
  const deep = (levels: number, style: 'flow' | 'block' | 'list') => {
    if (style === 'flow') return `conditions: ${'{ not: '.repeat(levels)}{ attribute: residence_status, equals: registered }${' }'.repeat(levels)}\n`;
    if (style === 'list') return `conditions: ${'['.repeat(levels)}${']'.repeat(levels)}\n`;
    // block: `not:` under `not:`, each two spaces further in
    const lines = Array.from({ length: levels }, (_, i) => `${'  '.repeat(i + 1)}not:`);
    return `conditions:\n${lines.join('\n')}\n${'  '.repeat(levels + 1)}attribute: residence_status\n${'  '.repeat(levels + 1)}equals: registered\n`;
  };
  const withConditions = (conditions: string) => childAllowance.replace(/conditions:\n(?: {2}.*\n|#.*\n)*/, conditions);

  for (const [style, levels] of [
    ['flow', 5000],
    ['block', 3000],
    ['list', 10000],
  ] as const) {
    it(`conditions nested ${levels} levels deep (${style}) are refused with the file, line and column, before the parser recurses`, () => {
      const dir = ruleFolder(`deep-${style}`, withConditions(deep(levels, style)));
      const problems = problemsOf([dir]);
      expect(problems).toHaveLength(1);
      expect(formatProblem(problems[0]!)).toMatch(
        new RegExp(`^${shown(join(dir, 'child-allowance.yaml')).replace(/[.]/g, '\\.')}:\\d+:\\d+: conditions: conditions nested deeper than 32 levels$`),
      );
    });
  }

  it('conditions 32 levels deep are fine; 33 are refused at the 33rd', () => {
    const nested = (n: number) => `conditions: ${'{ not: '.repeat(n - 1)}{ attribute: residence_status, equals: registered }${' }'.repeat(n - 1)}\n`;
    expect(problemsOf([ruleFolder('depth-32', withConditions(nested(32)))])).toEqual([]);
    const problems = problemsOf([ruleFolder('depth-33', withConditions(nested(33)))]);
    // At the 33rd `{ not:` (column 13 + 7 × 32) on the conditions line.
    const line = childAllowance.split('\n').indexOf('conditions:') + 1;
    expect(problems.map((p) => `${p.line}:${p.column}: ${p.field}: ${p.message}`)).toEqual([
      `${line}:${13 + 7 * 32}: conditions: conditions nested deeper than 32 levels`,
    ]);
  });

  it('a deep rule keeps the engine from starting with that message, not a stack overflow', async () => {
    const dir = ruleFolder('deep-engine', withConditions(deep(5000, 'flow')));
    const config = loadEngineConfig({ OSHIRASE_DATA_DIR: join(work, 'engine-data') });
    const error = await openEngineContext({ config, rulesDir: dir }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RuleValidationError);
    expect((error as Error).message).toMatch(/child-allowance\.yaml:\d+:\d+: conditions: conditions nested deeper than 32 levels$/);
  });

  it('a 5 MB title is refused with the field and the limit', () => {
    const huge = 'あ'.repeat((5 * 1024 * 1024) / 3);
    const problems = problemsOf([ruleFolder('huge-title', childAllowance.replace('児童手当の申請のご案内', huge))]);
    expect(problems.map((p) => `${p.line}:${p.column}: ${p.field}: ${p.message.split(' (')[0]}`)).toEqual([
      `9:7: title.ja: is ${huge.length} characters long; at most 100 are allowed`,
    ]);
  });

  it('a folder with no rule file is an error, not "0 rules are valid"', () => {
    const dir = join(work, 'no-rules');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'child-allowance.yaml.txt'), childAllowance);
    expect(problemsOf([dir]).map(formatProblem)).toEqual([
      `${shown(dir)}:1:1: no rule file in this folder (rule files end in .yaml or .yml; example cases in .cases.yaml)`,
    ]);
    const validate = cli(['rules', 'validate', dir]);
    expect(validate.status).toBe(1);
    expect(validate.stdout).toBe('');
  });

  it('a plan sending the same channel twice without a wait between is refused; with a wait it is fine', () => {
    const twice = childAllowance.replace('  - send: email\n', '  - send: email\n  - task: no-response\n  - send: email\n');
    expect(problemsOf([ruleFolder('twice', twice)]).map((p) => `${p.field}: ${p.message}`)).toEqual([
      'outreach.2: repeats send: email of outreach.0 with no wait between: the resident would get the same email twice at once (put a wait between them, or remove one)',
    ]);
    const waited = childAllowance.replace('  - send: email\n', '  - send: email\n  - wait: { days: 1 }\n  - send: email\n');
    expect(problemsOf([ruleFolder('waited', waited)])).toEqual([]);
  });
});

describe('parameters and configuration', () => {
  it('a parameter defined twice names both files at their real lines', () => {
    const dir = join(work, 'parameters-twice');
    mkdirSync(dir, { recursive: true });
    const original = readFileSync(join(ROOT, 'parameters/school_support.income_bracket_limit.yaml'), 'utf8');
    writeFileSync(join(dir, 'a.yaml'), original);
    writeFileSync(join(dir, 'b.yaml'), `# the new fiscal year, written as a second file\n\n${original}`);
    const idLine = original.split('\n').findIndex((l) => l.startsWith('id:')) + 1;
    const { problems } = loadParameters(dir);
    expect(problems.map(formatProblem)).toEqual([
      `${shown(join(dir, 'b.yaml'))}:${idLine + 2}:5: id: parameter school_support.income_bracket_limit is defined twice: here and in ${shown(join(dir, 'a.yaml'))}:${idLine} — keep one (add the new dated value to the values of the first)`,
    ]);
  });

  it('a parameter file in Shift_JIS is refused', () => {
    const dir = join(work, 'parameters-sjis');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'p.yaml'), shiftJis('id: p\ndescription: 所得の上限\ntype: integer\nvalues:\n  2025-04-01: 3\n'));
    expect(loadParameters(dir).problems.map(formatProblem)).toEqual([`${shown(join(dir, 'p.yaml'))}:1:1: ${NOT_UTF8_SJIS}`]);
  });

  it('a wards file in Shift_JIS is refused as configuration, naming the file', () => {
    const file = join(work, 'wards-sjis.yaml');
    writeFileSync(file, shiftJis('wards:\n  - id: chuo\n    name: { ja: 中央区, en: Chuo }\n'));
    expect(() => loadWards(file)).toThrow(ConfigError);
    expect(() => loadWards(file)).toThrow(`${file}:1:1: ${NOT_UTF8_SJIS}`);
  });
});
