import { randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../../foundation/private-files';
import { basename, dirname, join, resolve } from 'node:path';
import { isIsoDate } from '../../foundation/tokyo-calendar';

export interface OutboxLetter {
  deliveryKey: string;
  reference: string;
  postalCode: string;
  postageClass: 'standard' | 'registered';
  pdf: Buffer;
  issuedOn: string;
}

export interface OutboxResult {
  pdfPath: string;
  manifestPath: string;
  alreadyPresent: boolean;
}

export const MANIFEST_FILE = 'manifest.csv';
const MANIFEST_COLUMNS = ['reference', 'delivery_key', 'postal_code', 'postage_class', 'file', 'pages', 'bytes', 'added_at'] as const;

// One promise chain per day directory: read-check-write of the manifest must not interleave.
const queues = new Map<string, Promise<void>>();

function serialize<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(task);
  const tail = run.then(
    () => undefined,
    () => undefined,
  );
  queues.set(key, tail);
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** RFC 4180 parser; quoted fields may contain commas, quotes and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

// pdfkit writes page objects uncompressed, so counting /Type /Page dictionaries is exact for our letters.
function countPdfPages(pdf: Buffer): number | undefined {
  const matches = pdf.toString('latin1').match(/\/Type\s*\/Page(?![A-Za-z])/g);
  return matches ? matches.length : undefined;
}

export async function writeFileAtomic(path: string, data: string | Buffer, dir: string, name: string): Promise<void> {
  // Dot-prefixed so a print vendor sweeping for *.pdf never picks up a half-written file.
  const temp = join(dir, `.${name}.${process.pid}.${randomUUID()}.tmp`);
  try {
    // Letters carry names and addresses: readable by the engine's user only (the vendor's pickup runs as it).
    const handle = await open(temp, 'wx', PRIVATE_FILE_MODE);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/**
 * Like writeFileAtomic, for files too large to build in memory (a batch PDF):
 * `write` streams into a hidden temp file, which replaces `path` only once
 * complete and on disk.
 */
export async function writeStreamAtomic<T>(path: string, write: (out: WriteStream) => Promise<T>): Promise<T> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomUUID()}.tmp`);
  try {
    const out = createWriteStream(temp, { flags: 'wx', mode: PRIVATE_FILE_MODE });
    const result = await write(out);
    if (!out.writableFinished) await new Promise<void>((resolve, reject) => out.end(() => resolve()).once('error', reject));
    const handle = await open(temp, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    return result;
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Puts a letter into `<outboxDir>/<issuedOn>/` for the print run: the PDF as
 * `<reference>.pdf` and one line in `manifest.csv`. Idempotent per deliveryKey,
 * so a retried activity does not print the same letter twice.
 */
export async function addToPrintOutbox(outboxDir: string, letter: OutboxLetter): Promise<OutboxResult> {
  if (!isIsoDate(letter.issuedOn)) {
    throw new Error(`Invalid issuedOn '${letter.issuedOn}', expected YYYY-MM-DD`);
  }
  // The reference becomes a file name: no path separators, no hidden files.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(letter.reference)) {
    throw new Error(`Reference '${letter.reference}' is not usable as a file name`);
  }
  if (letter.deliveryKey === '') throw new Error('deliveryKey must not be empty');
  if (letter.pdf.subarray(0, 5).toString('latin1') !== '%PDF-') {
    throw new Error(`Letter ${letter.reference} is not a PDF`);
  }

  const dayDir = join(outboxDir, letter.issuedOn);
  const manifestPath = join(dayDir, MANIFEST_FILE);
  const fileName = `${letter.reference}.pdf`;

  return serialize(resolve(dayDir), async () => {
    await makePrivateDir(dayDir);
    const existing = await readIfExists(manifestPath);
    const rows = existing === undefined ? [] : parseCsv(existing).slice(1);
    const refIdx = MANIFEST_COLUMNS.indexOf('reference');
    const keyIdx = MANIFEST_COLUMNS.indexOf('delivery_key');
    const fileIdx = MANIFEST_COLUMNS.indexOf('file');

    const sameDelivery = rows.find((r) => r[keyIdx] === letter.deliveryKey);
    if (sameDelivery) {
      return { pdfPath: join(dayDir, sameDelivery[fileIdx] ?? fileName), manifestPath, alreadyPresent: true };
    }
    // Overwriting another delivery's PDF would silently print the wrong letter.
    const sameReference = rows.find((r) => r[refIdx] === letter.reference);
    if (sameReference) {
      throw new Error(`Reference ${letter.reference} is already in ${manifestPath} for delivery ${sameReference[keyIdx] ?? '?'}`);
    }

    const pdfPath = join(dayDir, fileName);
    // PDF first: a manifest line must never point at a file that is not there yet.
    await writeFileAtomic(pdfPath, letter.pdf, dayDir, fileName);

    const record: Record<(typeof MANIFEST_COLUMNS)[number], string> = {
      reference: letter.reference,
      delivery_key: letter.deliveryKey,
      postal_code: letter.postalCode,
      postage_class: letter.postageClass,
      file: fileName,
      pages: String(countPdfPages(letter.pdf) ?? ''),
      bytes: String(letter.pdf.length),
      added_at: new Date().toISOString(),
    };
    const line = `${MANIFEST_COLUMNS.map((c) => csvField(record[c])).join(',')}\n`;
    let base = existing ?? `${MANIFEST_COLUMNS.join(',')}\n`;
    if (!base.endsWith('\n')) base += '\n';
    // Rewrite-and-rename rather than append, so a crash mid-write cannot leave a torn last line.
    await writeFileAtomic(manifestPath, base + line, dayDir, MANIFEST_FILE);
    return { pdfPath, manifestPath, alreadyPresent: false };
  });
}
