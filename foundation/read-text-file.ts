import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

/**
 * Every file the engine reads as text (rules, parameters, templates, example
 * cases, configuration) goes through here: strict UTF-8, never a silent U+FFFD.
 * A file saved as Shift_JIS (the default of Notepad and Excel on Japanese
 * Windows) would otherwise pass validation and reach residents as mojibake.
 * A byte order mark is dropped and CRLF line ends become LF, so files saved
 * by Windows editors stay accepted.
 */

/** Where a file could not be read as text, and why, in words for the person who saved it. */
export interface TextFileProblem {
  /** `unreadable`: no such file, a folder, no permission; `encoding`: bytes that are not UTF-8 text. */
  kind: 'unreadable' | 'encoding';
  line: number;
  column: number;
  message: string;
}

export type TextFileResult = { ok: true; text: string } | { ok: false; problem: TextFileProblem };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** How well bytes read as UTF-8: the first byte that does not begin a well-formed sequence (-1 if none), how many such bytes, and how many well-formed multi-byte sequences. */
export function scanUtf8(bytes: Uint8Array): { firstInvalid: number; invalid: number; multibyte: number } {
  let firstInvalid = -1;
  let invalid = 0;
  let multibyte = 0;
  let i = 0;
  while (i < bytes.length) {
    const need = sequenceLength(bytes, i);
    if (need === 0) {
      if (firstInvalid < 0) firstInvalid = i;
      invalid += 1;
      i += 1;
    } else {
      if (need > 1) multibyte += 1;
      i += need;
    }
  }
  return { firstInvalid, invalid, multibyte };
}

/** The length of the well-formed UTF-8 sequence at i, or 0. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  if (b < 0x80) return 1;
  let need: number;
  let min = 0x80;
  let max = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) need = 1;
  else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    if (b === 0xe0) min = 0xa0; // no overlong forms
    if (b === 0xed) max = 0x9f; // no surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    if (b === 0xf0) min = 0x90;
    if (b === 0xf4) max = 0x8f; // nothing above U+10FFFF
  } else return 0;
  for (let k = 1; k <= need; k++) {
    const c = bytes[i + k];
    if (c === undefined || c < (k === 1 ? min : 0x80) || c > (k === 1 ? max : 0xbf)) return 0;
  }
  return need + 1;
}

function decodesAs(encoding: string, bytes: Uint8Array): boolean {
  try {
    new TextDecoder(encoding, { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Line and column (both from 1, the column in characters) of a byte offset in bytes that are valid UTF-8 up to it. */
function positionOf(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line += 1;
      lineStart = i + 1;
    }
  }
  const before = utf8.decode(bytes.subarray(lineStart, offset));
  return { line, column: [...before].length + 1 };
}

const SAVE_AS_UTF8 = 'save it as UTF-8';

/** Decodes a file's bytes as strict UTF-8 (BOM dropped, CRLF made LF), or says why it is not. */
export function decodeTextFile(bytes: Uint8Array): TextFileResult {
  // UTF-16 (Notepad's "Unicode") starts with its byte order mark.
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    return { ok: false, problem: { kind: 'encoding', line: 1, column: 1, message: `not UTF-8 (saved as UTF-16?) — ${SAVE_AS_UTF8}` } };
  }
  const scan = scanUtf8(bytes);
  const bad = scan.firstInvalid;
  if (bad >= 0) {
    // Japanese text in another encoding is invalid UTF-8 nearly everywhere it is not ASCII;
    // a UTF-8 file with a few stray bytes is mostly well-formed. Name the encoding it most likely is.
    const mostlyUtf8 = scan.multibyte > scan.invalid;
    const guess = mostlyUtf8 ? null : decodesAs('shift_jis', bytes) ? 'Shift_JIS' : decodesAs('euc-jp', bytes) ? 'EUC-JP' : null;
    if (guess) return { ok: false, problem: { kind: 'encoding', line: 1, column: 1, message: `not UTF-8 (saved as ${guess}?) — ${SAVE_AS_UTF8}` } };
    const at = positionOf(bytes, bad);
    const byte = bytes[bad]!.toString(16).toUpperCase().padStart(2, '0');
    return {
      ok: false,
      problem: {
        kind: 'encoding',
        ...at,
        message: `not UTF-8: byte 0x${byte} at byte offset ${bad} (line ${at.line}, column ${at.column}) is not valid UTF-8 — ${SAVE_AS_UTF8}`,
      },
    };
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const at = positionOf(bytes, nul);
    return {
      ok: false,
      problem: { kind: 'encoding', ...at, message: `holds a NUL byte at byte offset ${nul}: not a text file (saved as UTF-16?) — ${SAVE_AS_UTF8}` },
    };
  }
  // TextDecoder drops a leading BOM (ignoreBOM is false by default).
  const text = utf8.decode(bytes).replace(/\r\n/g, '\n');
  return { ok: true, text };
}

/** Reads a file as strict UTF-8 text; a file that cannot be read or is not UTF-8 is a problem, never an exception. */
export function readTextFile(path: string): TextFileResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a folder, not a file'
          : code === 'EACCES'
            ? 'not allowed to read the file'
            : 'cannot read the file';
    return { ok: false, problem: { kind: 'unreadable', line: 1, column: 1, message: why } };
  }
  return decodeTextFile(bytes);
}

/** An error for callers that stop at the first unreadable file; the message is `FILE:LINE:COLUMN: reason`. */
export class TextFileError extends Error {
  override name = 'TextFileError';
  constructor(
    readonly file: string,
    readonly problem: TextFileProblem,
  ) {
    super(`${file}:${problem.line}:${problem.column}: ${problem.message}`);
  }
}

/** readTextFile for callers that throw: a TextFileError naming the file. */
export function readTextFileOrThrow(path: string, shownAs: string = path): string {
  const result = readTextFile(path);
  if (!result.ok) throw new TextFileError(shownAs, result.problem);
  return result.text;
}

/** A file that could not be read as text, located for the person who wrote it (the shape of a rule problem). */
export interface SourceFileProblem {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
}

/**
 * Reads a source file a person wrote (rule, parameters, example cases, template)
 * as strict UTF-8 and names it relative to the working folder, as every problem
 * about it is shown; a file that cannot be read is handed to `onProblem` and
 * null returned, so a loader reports it and goes on to the next file.
 */
export function readSourceFile(path: string, onProblem: (problem: SourceFileProblem) => void): { file: string; text: string } | null {
  const file = relative(process.cwd(), path) || path;
  const read = readTextFile(path);
  if (!read.ok) {
    onProblem({ file, line: read.problem.line, column: read.problem.column, field: '', message: read.problem.message });
    return null;
  }
  return { file, text: read.text };
}
