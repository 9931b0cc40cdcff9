/**
 * Daily print batches. The letter step queues each letter into the batch of its
 * print day; after the day's cut-off `closeBatch` renders the whole batch as one
 * PDF with a manifest for the print shop, and `markBatchPosted` records that the
 * envelopes went to the post office. Every step flows back into the letter's
 * ledger row and the audit log.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { makePrivateDir } from '../../foundation/private-files';
import { printBatchLetters } from '../../foundation/metrics';
import { dirname, join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import { LOCALES, type Database, type LetterStatus, type PostageClass, type PrintBatch, type PrintBatchStatus } from '../../store/schema';
import { writeAudit } from '../../store/audit';
import { recordBatchLettersPosted, recordBatchLettersPrinted } from '../../store/delivery-ledger';
import { addDays, isIsoDate, isOfficeWorkingDay, nextOfficeWorkingDay, todayInTokyo, tokyoInstant } from '../../foundation/tokyo-calendar';
import { renderLetter, renderLetterBatchPdf, type LetterContent } from './letter-pdf';
import { addToPrintOutbox, csvField, MANIFEST_FILE, writeFileAtomic, writeStreamAtomic, type OutboxLetter } from './print-outbox';
import type { PrintConfig } from '../../config/print-config';
import { auditBatchLetters, LetterOperationError } from './print-ledger';

function requireDate(date: string): string {
  if (!isIsoDate(date)) {
    throw new LetterOperationError('invalid', `"${date}" is not a date (YYYY-MM-DD)`);
  }
  return date;
}

/** The instant the batch of a print date closes. Japan has no daylight saving time, so +09:00 always holds. */
export function cutOffAt(printDate: string, config: PrintConfig): Date {
  const hh = String(config.cutoff.hour).padStart(2, '0');
  const mm = String(config.cutoff.minute).padStart(2, '0');
  return tokyoInstant(requireDate(printDate), `${hh}:${mm}`);
}

/**
 * The print date a letter queued at `now` belongs to: today in Tokyo, or the next day once today's cut-off has
 * passed — and then the first office working day from there (no print run or posting on weekends, national
 * holidays or over the New Year closure).
 */
export function printDayFor(now: Date, config: PrintConfig): string {
  const today = todayInTokyo(now);
  const earliest = isOfficeWorkingDay(today) && now.getTime() < cutOffAt(today, config).getTime() ? today : addDays(today, 1);
  return nextOfficeWorkingDay(earliest);
}

const LetterAnswerSchema = z.object({ code: z.string(), address: z.string(), url: z.string() });
// The stored content is read back when the batch is rendered; a row written by another version must still parse.
const StoredLetterContent = z.object({
  recipient: z.object({ postalCode: z.string(), address: z.string(), name: z.string() }),
  sender: z.object({ name: z.string(), department: z.string(), postalCode: z.string(), address: z.string(), phone: z.string(), hours: z.string().optional() }),
  answer: LetterAnswerSchema.optional(),
  issuedOn: z.iso.date(),
  locale: z.enum(LOCALES),
  title: z.string(),
  body: z.string(),
  reference: z.string(),
  enclosed: z.array(z.object({ title: z.string(), body: z.string(), answer: LetterAnswerSchema })).optional(),
}) satisfies z.ZodType<LetterContent>;

export interface LetterToQueue {
  deliveryId: number;
  deliveryKey: string;
  outreachId: string;
  residentId: string;
  reference: string;
  postageClass: PostageClass;
  /** Everything but the date: a letter is dated the day it is printed. */
  content: Omit<LetterContent, 'issuedOn' | 'reference'>;
}

export interface QueuedLetter {
  reference: string;
  batchId: string;
  status: LetterStatus;
  cutOffAt: Date;
  postageClass: PostageClass;
  pages: number;
  pdfPath: string;
  /** The queue folder's manifest of the print day: one line per delivery ever queued for it. */
  queueManifestPath: string;
  /** True when this delivery was queued before (a retried activity). */
  alreadyQueued: boolean;
}

export interface PrintOptions {
  outboxDir: string;
  print: PrintConfig;
  now?: Date;
}

/** Proof copies of queued letters; the print shop takes only the batch folders. */
const queueDir = (outboxDir: string) => join(outboxDir, 'queue');
export const batchDir = (outboxDir: string, batchId: string) => join(outboxDir, 'batches', batchId);

async function describeQueued(db: Kysely<Database>, deliveryId: number): Promise<Omit<QueuedLetter, 'alreadyQueued'> | null> {
  const row = await db
    .selectFrom('letters as l')
    .innerJoin('print_batches as b', 'b.id', 'l.batch_id')
    .select(['l.reference', 'l.batch_id', 'l.status', 'b.cut_off_at', 'l.postage_class', 'l.pages', 'l.pdf_path'])
    .where('l.delivery_id', '=', deliveryId)
    .executeTakeFirst();
  if (!row) return null;
  return {
    reference: row.reference,
    batchId: row.batch_id,
    status: row.status,
    cutOffAt: row.cut_off_at,
    postageClass: row.postage_class,
    pages: row.pages,
    pdfPath: row.pdf_path,
    queueManifestPath: join(dirname(row.pdf_path), MANIFEST_FILE),
  };
}

/** The letter already queued for a delivery, if any. */
export async function queuedLetterFor(db: Kysely<Database>, deliveryId: number): Promise<QueuedLetter | null> {
  const found = await describeQueued(db, deliveryId);
  return found ? { ...found, alreadyQueued: true } : null;
}

/**
 * Queues a letter into the open batch of its print day (the next day's once the
 * cut-off has passed or that day's batch is already closing) and writes its
 * proof PDF. Idempotent per delivery.
 */
export async function queueLetter(db: Kysely<Database>, letter: LetterToQueue, options: PrintOptions): Promise<QueuedLetter> {
  const existing = await queuedLetterFor(db, letter.deliveryId);
  if (existing) {
    await ensureProof(db, letter.deliveryId, letter.deliveryKey, options.outboxDir);
    return existing;
  }
  const now = options.now ?? new Date();
  let day = printDayFor(now, options.print);
  // A closed batch pushes the letter to the next print day; a week of closed batches means something else is wrong.
  for (let attempt = 0; attempt < 7; attempt++, day = nextOfficeWorkingDay(addDays(day, 1))) {
    const content: LetterContent = { ...letter.content, issuedOn: day, reference: letter.reference };
    // Rendered outside the transaction: a batch row lock must not wait on PDF layout.
    const rendered = await renderLetter(content);
    const pdfPath = join(queueDir(options.outboxDir), day, `${letter.reference}.pdf`);
    const outcome = await db.transaction().execute(async (tx) => {
      await tx
        .insertInto('print_batches')
        .values({ id: day, status: 'created', cut_off_at: cutOffAt(day, options.print) })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      // A shared lock: letters join concurrently, but closeBatch's claim waits for them (and they for it).
      const batch = await tx.selectFrom('print_batches').select(['status', 'cut_off_at']).where('id', '=', day).forShare().executeTakeFirstOrThrow();
      if (batch.status !== 'created' || batch.cut_off_at.getTime() <= now.getTime()) return 'batch-closed' as const;
      const inserted = await tx
        .insertInto('letters')
        .values({
          delivery_id: letter.deliveryId,
          reference: letter.reference,
          batch_id: day,
          outreach_id: letter.outreachId,
          resident_id: letter.residentId,
          status: 'queued',
          postage_class: letter.postageClass,
          postal_code: letter.content.recipient.postalCode,
          pages: rendered.pages,
          bytes: rendered.pdf.length,
          pdf_path: pdfPath,
          content: JSON.stringify(content),
          created_at: now,
        })
        .onConflict((oc) => oc.column('delivery_id').doNothing())
        .returning('delivery_id')
        .executeTakeFirst();
      return inserted ? ('queued' as const) : ('raced' as const);
    });
    if (outcome === 'batch-closed') continue;
    if (outcome === 'raced') return (await queuedLetterFor(db, letter.deliveryId))!;
    // After the commit: if the worker dies before this, the retried activity finds the row and ensureProof writes it.
    await addProofToQueueFolder(db, options.outboxDir, {
      deliveryKey: letter.deliveryKey,
      reference: letter.reference,
      postalCode: letter.content.recipient.postalCode,
      postageClass: letter.postageClass,
      pdf: rendered.pdf,
      issuedOn: day,
    });
    return { ...(await describeQueued(db, letter.deliveryId))!, alreadyQueued: false };
  }
  throw new Error(`no open print batch in the 7 print days from ${printDayFor(now, options.print)}`);
}

/** Rewrites a queued letter's proof PDF if it is missing (the worker died between the commit and the write). */
async function ensureProof(db: Kysely<Database>, deliveryId: number, deliveryKey: string, outboxDir: string): Promise<void> {
  const row = await db
    .selectFrom('letters')
    .select(['pdf_path', 'content', 'postage_class', 'batch_id'])
    .where('delivery_id', '=', deliveryId)
    .executeTakeFirst();
  if (!row) return;
  if (
    await stat(row.pdf_path).then(
      () => true,
      () => false,
    )
  )
    return;
  const content = StoredLetterContent.parse(row.content);
  const { pdf } = await renderLetter(content);
  await addProofToQueueFolder(db, outboxDir, {
    deliveryKey,
    reference: content.reference,
    postalCode: content.recipient.postalCode,
    postageClass: row.postage_class,
    pdf,
    issuedOn: row.batch_id,
  });
}

/**
 * Writes a letter's proof into the queue folder of its print day. Every worker process reads, checks and
 * rewrites that day's manifest; without a lock across processes two of them read the same manifest and the
 * second rename drops the first one's line (seen with two workers: a queued letter missing from the
 * manifest). A PostgreSQL advisory lock per print day, held for the write, orders them — across hosts
 * too, where workers share the outbox. A worker that dies holding it releases it with its connection.
 */
export async function addProofToQueueFolder(db: Kysely<Database>, outboxDir: string, letter: OutboxLetter): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${`print-queue:${letter.issuedOn}`}))`.execute(tx);
    await addToPrintOutbox(queueDir(outboxDir), letter);
  });
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const MANIFEST_COLUMNS = ['sequence', 'reference', 'delivery_key', 'postal_code', 'postage_class', 'pages', 'first_page', 'last_page', 'bytes'] as const;

export interface ClosedBatch {
  batchId: string;
  status: PrintBatchStatus;
  letters: number;
  pages: number;
  mergedPdfPath: string | null;
  manifestPath: string | null;
  sha256: string | null;
  /** True when the batch had been closed before: nothing was rendered again. */
  alreadyClosed: boolean;
}

function closedBatch(b: PrintBatch, alreadyClosed: boolean): ClosedBatch {
  return {
    batchId: b.id,
    status: b.status,
    letters: b.letter_count,
    pages: b.page_count,
    mergedPdfPath: b.merged_pdf_path,
    manifestPath: b.manifest_path,
    sha256: b.merged_pdf_sha256,
    alreadyClosed,
  };
}

/**
 * Closes the batch of a print date once its cut-off has passed: one merged PDF
 * of every queued letter (sorted by postal code, as bulk mail discounts need)
 * and a manifest CSV, both in `<outbox>/batches/<date>/`; the letters become
 * 'printed' and the batch 'handed-to-printer'. Idempotent: a closed batch is
 * returned as it is, and a close interrupted half-way is simply done again.
 */
export async function closeBatch(db: Kysely<Database>, date: string, options: PrintOptions & { actor?: string }): Promise<ClosedBatch> {
  requireDate(date);
  const now = options.now ?? new Date();
  const actor = options.actor ?? 'engine';
  const due = cutOffAt(date, options.print);

  const claim = await db.transaction().execute(async (tx) => {
    let batch = await tx.selectFrom('print_batches').selectAll().where('id', '=', date).forUpdate().executeTakeFirst();
    if (!batch || batch.status === 'created' || batch.status === 'closing') {
      const cutOff = batch?.cut_off_at ?? due;
      if (now.getTime() < cutOff.getTime()) {
        throw new LetterOperationError(
          'not-due',
          `the batch of ${date} is still open: its cut-off is ${cutOff.toISOString()} and letters may still join or be cancelled`,
        );
      }
    }
    if (!batch) {
      // Nothing was queued for that day. Recording it closed keeps a late letter from joining a batch nobody will print.
      batch = await tx
        .insertInto('print_batches')
        .values({ id: date, status: 'handed-to-printer', cut_off_at: due, handed_at: now })
        .returningAll()
        .executeTakeFirstOrThrow();
      await writeAudit(tx, { actor, action: 'print-batch-closed', detail: { batchId: date, letters: 0, pages: 0, sha256: null } });
      return { batch, claimed: false, alreadyClosed: false };
    }
    if (batch.status === 'handed-to-printer' || batch.status === 'posted') return { batch, claimed: false, alreadyClosed: true };
    // From here on no letter can join (queueLetter sees 'closing') and none can be cancelled.
    await tx.updateTable('print_batches').set({ status: 'closing' }).where('id', '=', date).execute();
    return { batch, claimed: true, alreadyClosed: false };
  });
  if (!claim.claimed) {
    // Closed here with nothing queued: a print day of 0 letters. One found closed was counted by whoever closed it.
    if (!claim.alreadyClosed) printBatchLetters.observe(0);
    return closedBatch(claim.batch, claim.alreadyClosed);
  }

  const rows = await db
    .selectFrom('letters as l')
    .innerJoin('deliveries as d', 'd.id', 'l.delivery_id')
    .select(['l.delivery_id', 'l.reference', 'l.postal_code', 'l.postage_class', 'l.pages', 'l.bytes', 'l.content', 'd.idempotency_key'])
    .where('l.batch_id', '=', date)
    .where('l.status', '=', 'queued')
    .orderBy('l.postal_code')
    .orderBy('l.reference')
    .execute();

  let files: { pdfPath: string; manifestPath: string; sha256: string; pages: number; firstPages: number[]; lastPages: number[] } | null = null;
  if (rows.length > 0) {
    const dir = batchDir(options.outboxDir, date);
    await makePrivateDir(dir);
    const pdfPath = join(dir, `letters-${date}.pdf`);
    const manifestPath = join(dir, `manifest-${date}.csv`);
    const contents = rows.map((r) => StoredLetterContent.parse(r.content));
    const ranges = await writeStreamAtomic(pdfPath, (out) => renderLetterBatchPdf(contents, { title: `お知らせ 印刷バッチ ${date}`, printDate: date }, out));
    const lines = rows.map((r, i) => {
      const range = ranges[i]!;
      if (range.reference !== r.reference) throw new Error(`batch ${date}: page ranges out of order at ${r.reference}`);
      const record: Record<(typeof MANIFEST_COLUMNS)[number], string> = {
        sequence: String(i + 1),
        reference: r.reference,
        delivery_key: r.idempotency_key,
        postal_code: r.postal_code,
        postage_class: r.postage_class,
        pages: String(range.lastPage - range.firstPage + 1),
        first_page: String(range.firstPage),
        last_page: String(range.lastPage),
        // The size of the letter's own PDF (its proof copy), for reconciling with the queue folder.
        bytes: String(r.bytes),
      };
      return MANIFEST_COLUMNS.map((c) => csvField(record[c])).join(',');
    });
    await writeFileAtomic(manifestPath, `${[MANIFEST_COLUMNS.join(','), ...lines].join('\n')}\n`, dir, `manifest-${date}.csv`);
    files = {
      pdfPath,
      manifestPath,
      sha256: await sha256Of(pdfPath),
      pages: ranges.at(-1)!.lastPage,
      firstPages: ranges.map((r) => r.firstPage),
      lastPages: ranges.map((r) => r.lastPage),
    };
  }

  const batch = await db.transaction().execute(async (tx) => {
    if (files) {
      const updated = await sql<{ delivery_id: number }>`
        update letters as l
           set status = 'printed', printed_at = ${now}, first_page = v.first_page, last_page = v.last_page
          from (select unnest(${rows.map((r) => r.delivery_id)}::int[]) as delivery_id,
                       unnest(${files.firstPages}::int[]) as first_page,
                       unnest(${files.lastPages}::int[]) as last_page) as v
         where l.delivery_id = v.delivery_id and l.batch_id = ${date} and l.status = 'queued'
        returning l.delivery_id`.execute(tx);
      // 'closing' admits no cancellation, so every letter rendered must still be queued.
      if (updated.rows.length !== rows.length)
        throw new Error(`batch ${date}: ${rows.length - updated.rows.length} letters changed while the batch was closing`);
      await recordBatchLettersPrinted(tx, date, now);
      await auditBatchLetters(tx, date, 'printed', 'letter-printed', actor);
    }
    const closed = await tx
      .updateTable('print_batches')
      .set({
        status: 'handed-to-printer',
        letter_count: rows.length,
        page_count: files?.pages ?? 0,
        merged_pdf_path: files?.pdfPath ?? null,
        merged_pdf_sha256: files?.sha256 ?? null,
        manifest_path: files?.manifestPath ?? null,
        handed_at: now,
      })
      .where('id', '=', date)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(tx, {
      actor,
      action: 'print-batch-closed',
      detail: { batchId: date, letters: rows.length, pages: files?.pages ?? 0, sha256: files?.sha256 ?? null },
    });
    return closed;
  });
  printBatchLetters.observe(rows.length);
  return closedBatch(batch, false);
}

/** Records that a batch's envelopes went to the post office; its printed letters become 'posted'. Idempotent. */
export async function markBatchPosted(
  db: Kysely<Database>,
  batchId: string,
  options: { now?: Date; actor?: string } = {},
): Promise<{ batchId: string; letters: number; alreadyPosted: boolean }> {
  requireDate(batchId);
  const now = options.now ?? new Date();
  const actor = options.actor ?? 'engine';
  return db.transaction().execute(async (tx) => {
    const batch = await tx.selectFrom('print_batches').selectAll().where('id', '=', batchId).forUpdate().executeTakeFirst();
    if (!batch) throw new LetterOperationError('not-found', `no print batch ${batchId}`);
    if (batch.status === 'posted') return { batchId, letters: batch.letter_count, alreadyPosted: true };
    if (batch.status !== 'handed-to-printer') {
      throw new LetterOperationError(
        'conflict',
        `the batch of ${batchId} is ${batch.status}: close it (letters batch close --date ${batchId}) before marking it posted`,
      );
    }
    const posted = await tx
      .updateTable('letters')
      .set({ status: 'posted', posted_at: now })
      .where('batch_id', '=', batchId)
      .where('status', '=', 'printed')
      .executeTakeFirst();
    const letters = Number(posted.numUpdatedRows);
    await recordBatchLettersPosted(tx, batchId, now);
    await auditBatchLetters(tx, batchId, 'posted', 'letter-posted', actor);
    await tx.updateTable('print_batches').set({ status: 'posted', posted_at: now }).where('id', '=', batchId).execute();
    await writeAudit(tx, { actor, action: 'print-batch-posted', detail: { batchId, letters } });
    return { batchId, letters, alreadyPosted: false };
  });
}

export interface BatchSummary {
  batchId: string;
  status: PrintBatchStatus;
  cutOffAt: string;
  letters: number;
  pages: number;
  byStatus: Record<LetterStatus, number>;
  mergedPdfPath: string | null;
  manifestPath: string | null;
  sha256: string | null;
  handedAt: string | null;
  postedAt: string | null;
}

/** The most recent batches, newest first, with their letters counted by status. */
export async function listBatches(db: Kysely<Database>, options: { limit?: number } = {}): Promise<BatchSummary[]> {
  const count = (status: LetterStatus) => sql<number>`(count(l.delivery_id) filter (where l.status = ${status}))::int`.as(status);
  const rows = await db
    .selectFrom('print_batches as b')
    .leftJoin('letters as l', 'l.batch_id', 'b.id')
    .select([
      'b.id',
      'b.status',
      'b.cut_off_at',
      'b.letter_count',
      'b.page_count',
      'b.merged_pdf_path',
      'b.manifest_path',
      'b.merged_pdf_sha256',
      'b.handed_at',
      'b.posted_at',
    ])
    .select([count('queued'), count('cancelled'), count('printed'), count('posted'), count('returned')])
    .groupBy('b.id')
    .orderBy('b.id', 'desc')
    .limit(options.limit ?? 30)
    .execute();
  return rows.map((r) => ({
    batchId: r.id,
    status: r.status,
    cutOffAt: r.cut_off_at.toISOString(),
    // Before closing, the count is of letters waiting; after, of letters in the file.
    letters: r.status === 'created' || r.status === 'closing' ? r.queued : r.letter_count,
    pages: r.page_count,
    byStatus: { queued: r.queued, cancelled: r.cancelled, printed: r.printed, posted: r.posted, returned: r.returned },
    mergedPdfPath: r.merged_pdf_path,
    manifestPath: r.manifest_path,
    sha256: r.merged_pdf_sha256,
    handedAt: r.handed_at?.toISOString() ?? null,
    postedAt: r.posted_at?.toISOString() ?? null,
  }));
}

/** Batches whose cut-off has passed and that nobody closed yet (oldest first). */
export async function dueBatches(db: Kysely<Database>, now: Date = new Date()): Promise<string[]> {
  const rows = await db
    .selectFrom('print_batches')
    .select('id')
    .where('status', 'in', ['created', 'closing'])
    .where('cut_off_at', '<=', now)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}
