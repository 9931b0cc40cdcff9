/**
 * What the fuzz files (tests/fuzz-*.test.ts) share: how many runs and which
 * seed, the awkward values every surface is fed, and the checks that an
 * answer to bad input leaks nothing of the engine's insides.
 *
 * `npm test` runs each target a modest number of times with a fixed seed, so a
 * run is repeatable; `npm run test:fuzz` runs each FUZZ_RUNS times (2,000 unless set). FUZZ_SEED=<n>
 * explores other inputs; a failure prints its seed and the shrunk input
 * (fast-check's own report), which FUZZ_SEED reproduces.
 */
import { homedir, tmpdir } from 'node:os';
import fc from 'fast-check';

/** Runs per target: `base` (sized for `npm test` on two cores), or FUZZ_RUNS when set (`npm run test:fuzz`). */
export function fuzzRuns(base: number): number {
  const wanted = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(wanted) && wanted > 0 ? wanted : base;
}

/** The seed of every property of a run: fixed unless FUZZ_SEED says otherwise. */
export const FUZZ_SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20_261_203;

/** fast-check's parameters for a target of `base` runs: and the seed (fast-check prints both with a failure). */
export function fuzzParameters<T>(base: number): fc.Parameters<T> {
  return { numRuns: fuzzRuns(base), seed: FUZZ_SEED };
}

/** Keys that reach for an object's prototype, or that a careless merge treats specially. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf', '<<'] as const;

/** Text no schema should have to meet: NUL, lone surrogates, U+FFFD, bidi overrides, full-width, huge, empty. */
export const NASTY_TEXT = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udc00x',
  '\uFFFD',
  '\u202Eevil',
  '\uFEFF',
  '１２３',
  '２０２６－０１－０１',
  '0000-01-01',
  '9999-12-31',
  '2024-02-30',
  '-1',
  '1e400',
  'NaN',
  'null',
  'true',
  "'; drop table residents; --",
  '../../etc/passwd',
  '%00',
  '%',
  '{{constructor}}',
  '<script>alert(1)</script>',
  'R-0000',
  'x'.repeat(300),
  'é'.repeat(2000),
  ...PROTOTYPE_KEYS,
] as const;

export const nastyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY_TEXT) },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 70_000 }).map((n) => 'あ'.repeat(n)) },
);

/** A key of an object a fuzz builds: mostly ordinary, sometimes one that reaches for the prototype. */
export const nastyKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom(...NASTY_TEXT) },
);

/** Any JSON value of the wrong kind for a field: numbers out of range, wrong types, nested things. */
export const wrongValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyText,
  fc.integer(),
  fc.constantFrom(0, -1, 1.5, 2 ** 31, 2 ** 53 + 1, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER),
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  fc.array(nastyText, { maxLength: 4 }),
  fc.dictionary(nastyKey, fc.oneof(nastyText, fc.integer()), { maxKeys: 3 }),
);

/** A JSON text nested `depth` levels (arrays or objects), built as text so neither side recurses to build it. */
export function deepJson(depth: number, style: 'array' | 'object'): string {
  return style === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Makes `Object.prototype` pollution visible: true while no test input has added a property to it. */
export function prototypeIsClean(): boolean {
  return Object.getOwnPropertyNames(Object.prototype).every((n) => BUILTIN_PROTOTYPE_NAMES.has(n));
}
const BUILTIN_PROTOTYPE_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What an answer to bad input must never show: a stack frame, SQL or the database's words, a path on this machine. */
export const LEAKS: ReadonlyArray<[string, RegExp]> = [
  ['a stack frame', /^\s*at .+:\d+:\d+\)?$|^\s*at .*\((?:node:|file:|native|<anonymous>)|\.(?:ts|js|mjs|cjs):\d+:\d+/m],
  [
    'SQL or the database’s words',
    /\bselect\s+(?:"\w+"|\*|count)[^\n]{0,120}\bfrom\s+"\w+"|\binsert into "\w+"|\bupdate "\w+" set\b|\bdelete from "\w+"|syntax error at or near|violates [\w ]*constraint|relation "|column "\w+" does not exist|invalid input syntax for type|out of range for type|value too long for type/i,
  ],
  ['a file path of the machine', new RegExp(`node_modules|${[process.cwd(), tmpdir(), homedir()].map(escapeRegExp).join('|')}`)],
  ['an internal error', /internal error|Cannot read propert|is not a function|undefined is not|Maximum call stack/],
];

/** The leaks `text` shows, by name (empty: none). */
export function leaksIn(text: string): string[] {
  return LEAKS.filter(([, pattern]) => pattern.test(text)).map(([name]) => name);
}
