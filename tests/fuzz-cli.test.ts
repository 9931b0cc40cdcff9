/**
 * Generated command lines for `oshirase`: every command of cli/program.ts
 * (ALL_COMMANDS), run in-process through the program's own main(), with
 * generated options and arguments — its own option names with values of the
 * wrong kind, `--opt=value` forms, unknown options, `--`, repeated options,
 * huge and binary text — and files of generated content where a command
 * reads one. Whatever comes in, the exit code is 0, 1 or 2, an error is one
 * line saying what is wrong (a usage mistake adds the command's help), and
 * nothing shows a stack trace, SQL or the engine's inside.
 *
 * The command context refuses the database and Temporal, so a command that
 * gets past its arguments stops where it would open them (exit 1 with that
 * message): what is fuzzed here is everything a command does with its
 * arguments and files before it touches the engine. Runs and seed:
 * tests/support/fuzz-inputs.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ALL_COMMANDS, buildProgram, main } from '../cli/program';
import { capturingContext } from './support/command-context';
import { deepJson, fuzzParameters, leaksIn, nastyText, prototypeIsClean } from './support/fuzz-inputs';

const work = mkdtempSync(join(tmpdir(), 'oshirase-fuzz-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Commands that start processes or servers of their own (the demo's Temporal and services): only their help and usage are fuzzed. */
const STARTS_PROCESSES = new Set(['demo']);

/** Each command's long options, read from the program itself. */
const program = buildProgram(capturingContext().ctx);
const optionsOf = new Map<string, string[]>(
  ALL_COMMANDS.map((c) => [c.name, (program.commands.get(c.name) as Command).options.map((o) => o.long ?? o.short ?? '').filter(Boolean)]),
);

let fileCount = 0;
/** A file of generated content, for the commands that read one; its path is what the command line names. */
function fileWith(content: string | Uint8Array, extension: string): string {
  const path = join(work, `f${++fileCount}${extension}`);
  writeFileSync(path, content);
  return path;
}

const fileContent: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.integer({ min: 1, max: 20_000 }).map((n) => deepJson(n, 'object')),
  fc.constantFrom(
    '',
    '\uFEFF',
    'resident_id,household_id,family_name,given_name,birth_date,ward\nR-1,H-1,山田,花子,2020-01-01,chuo\n',
    'resident_id,resident_id\n1,2\n',
    '"unterminated\n',
    '{"id":"e1","type":"birth","residentId":"R-1","occurredOn":"2099-01-01","__proto__":{"polluted":1}}',
    '{"kind":"guardian","from_resident_id":"R-1","to_resident_id":"R-1"}\nnot json\n[]\n',
    'From: x\r\nContent-Type: multipart/report; boundary="b"\r\n\r\n--b\r\n',
    'id: x\nconditions: *nowhere\n',
  ),
);
const fileArgument = fc.tuple(fileContent, fc.constantFrom('.json', '.csv', '.jsonl', '.yaml', '.eml', '')).map(
  ([content, extension]) =>
    () =>
      fileWith(content, extension),
);

/** A value for an option or an argument. */
const value: fc.Arbitrary<string | (() => string)> = fc.oneof(
  { weight: 4, arbitrary: nastyText },
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 100_000_000 }).map(String) },
  { weight: 1, arbitrary: fc.constantFrom('0', '-1', '1e9', '1.5', '2024-02-30', '2024-13-01', '25:00-08:00', 'a,b,,c', 'email,fax', '-', '--', '=') },
  { weight: 2, arbitrary: fileArgument },
  { weight: 1, arbitrary: fc.constantFrom('.', '..', 'rules', 'parameters', 'no-such-file.csv', join('no', 'such', 'dir')) },
);

/** One token group of a command line: an option of the command with a value, a bare flag, an unknown option, a positional argument. */
function tokensFor(command: string): fc.Arbitrary<Array<string | (() => string)>> {
  const own = optionsOf.get(command) ?? [];
  const option = own.length > 0 ? fc.constantFrom(...own) : fc.constant('--json');
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(option, value).map(([o, v]) => [o, v]) },
    { weight: 2, arbitrary: fc.tuple(option, value).map(([o, v]) => [typeof v === 'string' ? `${o}=${v}` : o, ...(typeof v === 'string' ? [] : [v])]) },
    { weight: 1, arbitrary: option.map((o) => [o]) },
    { weight: 1, arbitrary: fc.constantFrom('--nope', '-x', '--', '--help', '-h', '---', '--=').map((t) => [t]) },
    { weight: 3, arbitrary: value.map((v) => [v]) },
  );
}

const commandLine = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .constantFrom(...ALL_COMMANDS.map((c) => c.name).filter((name) => !STARTS_PROCESSES.has(name)))
      .chain((name) => fc.array(tokensFor(name), { maxLength: 5 }).map((groups) => [...name.split(' '), ...groups.flat()])),
  },
  {
    weight: 1,
    // Refused (or helped) before their action runs: the first token after the name is all that is generated.
    arbitrary: fc
      .tuple(fc.constantFrom(...STARTS_PROCESSES), fc.constantFrom('--help', '-h', '--nope', '--day-ms'))
      .map(([name, token]) => [...name.split(' '), token]),
  },
  // Not a command: misspelt words, a group alone, words of other commands, nothing sensible.
  { weight: 1, arbitrary: fc.array(fc.oneof(nastyText, fc.constantFrom('rules', 'letters', 'batch', 'parameters', 'tasks')), { minLength: 1, maxLength: 3 }) },
);

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `oshirase ARGV` in-process; what it writes to the terminal and through its context is captured. */
async function run(argv: readonly string[]): Promise<Outcome> {
  const captured = capturingContext({ what: `oshirase ${argv.slice(0, 2).join(' ')}` });
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`oshirase ${argv.join(' ').slice(0, 200)} did not finish within 20 s`)), 20_000);
    });
    const code = await Promise.race([main([...argv], () => captured.ctx), hung]).finally(() => clearTimeout(timer));
    return { code, stdout: stdout + captured.out.join('\n'), stderr: stderr + captured.err.join('\n') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe('generated command lines', () => {
  it('exit 0, 1 or 2 with a one-line error, never a stack trace or the engine’s inside', async () => {
    const codes = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(commandLine, async (tokens) => {
        const argv = tokens.map((t) => (typeof t === 'string' ? t : t()));
        const { code, stdout, stderr } = await run(argv);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        const shown = `exit ${code}\n--- stderr\n${stderr.slice(0, 2000)}\n--- stdout\n${stdout.slice(0, 500)}`;
        expect([0, 1, 2], shown).toContain(code);
        // A command quotes the files the user named (their paths, and their text: `templates check /etc/passwd`
        // says what the file holds), so paths of the machine may appear; the engine's own code may not.
        const printed = stdout + stderr;
        expect(
          leaksIn(printed).filter((leak) => leak !== 'a file path of the machine'),
          shown,
        ).toEqual([]);
        expect(printed, shown).not.toContain('node_modules');
        expect(printed, shown).not.toMatch(/^\s+at /m);
        if (code !== 0) {
          const first = stderr.split('\n')[0] ?? '';
          // `oshirase COMMAND: why`, or (rules validate, templates check, residents import) the problems of the files
          // named, each `FILE[:LINE:COLUMN]: why`, one a line.
          expect(first, shown).toMatch(/^oshirase( [^:]+)?: \S|^\S[^\n]*?: \S/);
        }
        expect(prototypeIsClean()).toBe(true);
      }),
      fuzzParameters(300),
    );
    // Both refusals and commands that got past their arguments were exercised.
    expect(codes.get(2) ?? 0).toBeGreaterThan(0);
    expect(codes.get(1) ?? 0).toBeGreaterThan(0);
  });
});
