import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { extractText, getDocumentProxy } from 'unpdf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestEngine, outreachIdOf, waitFor, type TestResident } from './support/test-engine';
import { outreachRow } from './support/rows';
import { closeBatch, cutOffAt, listBatches, markBatchPosted, printDayFor, queueLetter, type QueuedLetter } from '../channels/letter/print-batches';
import { cancelLetter, cancelLettersOfOutreach } from '../channels/letter/print-cancel';
import { loadPrintConfig } from '../config/print-config';
import { LetterOperationError } from '../channels/letter/print-ledger';
import { recordReturnedLetter } from '../channels/letter/postal-returns';
import { parseCsv } from '../channels/letter/print-outbox';
import { postalAddressProblems, normalizePostalCode } from '../channels/letter/postal-address';
import { startTestService, type TestService } from './support/test-service';
import type { CreatedClient } from '../service/auth/calling-systems';
import { LETTER_HANDLERS } from '../cli/letter-commands';
import { isOfficeWorkingDay } from '../foundation/tokyo-calendar';
import { capturingContext } from './support/command-context';

const print = loadPrintConfig({ PRINT_CUTOFF: '15:00' });
const at = (date: string, time: string) => new Date(`${date}T${time}:00+09:00`);

let engine: TestEngine;
let outboxDir = '';

beforeAll(async () => {
  engine = await TestEngine.start();
  outboxDir = await mkdtemp(join(tmpdir(), 'oshirase-letters-'));
});
afterAll(async () => {
  await engine?.stop();
  await rm(outboxDir, { recursive: true, force: true });
});

const BODY = '　お子さまのご誕生、おめでとうございます。児童手当の申請をお忘れなく。';
const LONG_BODY = Array.from(
  { length: 14 },
  () => '　児童手当は、0歳から高校生年代のお子さまを養育している方に支給されます。受け取るためには申請が必要です。',
).join('\n\n');

interface TestLetter {
  resident: TestResident;
  outreachId: string;
  deliveryId: number;
  queued: QueuedLetter;
}

/** A resident, an outreach and its letter ledger row, as the letter step finds them; then the letter queued at `now`. */
async function queue(now: Date, options: { postalCode?: string; body?: string } = {}): Promise<TestLetter> {
  const resident = await engine.addResident({ consents: ['child-benefits'], email: false });
  const db = engine.db;
  const outreachId = `letters-test:${resident.id}:${randomUUID().slice(0, 8)}`;
  await db.insertInto('outreach').values(outreachRow(outreachId, resident.id)).execute();
  const key = `${outreachId}#4:letter`;
  const ledger = await db
    .insertInto('deliveries')
    .values({
      idempotency_key: key,
      outreach_id: outreachId,
      resident_id: resident.id,
      rule_id: 'child-allowance',
      rule_version: 2,
      step_index: 4,
      channel: 'letter',
      status: 'pending',
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const queued = await queueLetter(
    db,
    {
      deliveryId: ledger.id,
      deliveryKey: key,
      outreachId,
      residentId: resident.id,
      reference: `OSR-${String(ledger.id).padStart(8, '0')}`,
      postageClass: 'standard',
      content: {
        recipient: { postalCode: options.postalCode ?? '100-0005', address: 'おしらせ市丸の内一丁目2番3号', name: `${resident.familyName} 花子 様` },
        sender: { name: 'おしらせ市長', department: 'こども家庭課', postalCode: '100-0001', address: 'おしらせ市中央1-1-1', phone: '03-1234-5678' },
        locale: 'ja',
        title: '児童手当の申請のご案内',
        body: options.body ?? BODY,
      },
    },
    { outboxDir, print, now },
  );
  // What deliverNotice does with a 'sent' attempt.
  await db
    .updateTable('deliveries')
    .set({ status: 'sent', sent_at: now, provider_ref: queued.reference, detail: JSON.stringify({ letter: { status: 'queued', batchId: queued.batchId } }) })
    .where('id', '=', ledger.id)
    .execute();
  return { resident, outreachId, deliveryId: ledger.id, queued };
}

const letterRow = (reference: string) => engine.db.selectFrom('letters').selectAll().where('reference', '=', reference).executeTakeFirstOrThrow();
const ledgerRow = (deliveryId: number) => engine.db.selectFrom('deliveries').selectAll().where('id', '=', deliveryId).executeTakeFirstOrThrow();
const actions = async (outreachId: string) =>
  await engine.db.selectFrom('audit_log').select(['action', 'detail']).where('outreach_id', '=', outreachId).orderBy('id').execute();

describe('postal address validation', () => {
  const cityNames = ['おしらせ市', 'Oshirase City'];
  it('accepts the addresses the city has on file', () => {
    for (const address of [
      'おしらせ市丸の内一丁目2番3号 おしらせハイツ101',
      '東京都新宿区西新宿二丁目8番1号',
      '4-5-6 Shibakoen, Oshirase City',
      '1-2-3 Umeda, Kita-ku, Ōsaka',
      'おしらせ市王子三丁目7番8号',
    ]) {
      expect(postalAddressProblems({ postalCode: '〒100-0005', address }, { cityNames }), address).toEqual([]);
    }
    expect(normalizePostalCode('１００－０００５')).toBe('100-0005');
    expect(normalizePostalCode('1000005')).toBe('100-0005');
  });
  it('names every problem of an address that cannot go on an envelope', () => {
    const problems = (postalCode: string | null, address: string | null) =>
      postalAddressProblems({ postalCode, address }, { cityNames }).map((p) => `${p.field}: ${p.problem}`);
    expect(problems('100-005', 'おしらせ市丸の内1番')).toEqual([expect.stringMatching(/^postalCode: .*〒NNN-NNNN/)]);
    expect(problems('000-0000', 'おしらせ市丸の内1番')).toHaveLength(1);
    expect(problems(null, null)).toEqual(['postalCode: no postal code', 'address: no address']);
    expect(problems('100-0005', '丸の内1番')).toEqual([expect.stringMatching(/neither a prefecture nor the city/)]);
    expect(problems('100-0005', 'おしらせ市丸の内')).toEqual(['address: has no block number (番地・号)']);
    expect(problems('100-0005', 'おしらせ市丸の内\n1番')).toEqual([expect.stringMatching(/control or invisible/)]);
    expect(problems('100-0005', 'おしらせ市丸の内1番\u202E')).toEqual([expect.stringMatching(/control or invisible/)]);
    expect(problems('100-0005', 'おしらせ市\uFFFD\uFFFD1番')).toEqual([expect.stringMatching(/garbled/)]);
    expect(problems('100-0005', `おしらせ市${'長'.repeat(80)}1番`)).toEqual([expect.stringMatching(/too long/)]);
  });
});

describe('print batches', () => {
  it('puts a letter into the batch of its print day; after the cut-off into the next day', async () => {
    const day = '2031-03-03';
    expect(cutOffAt(day, print).toISOString()).toBe('2031-03-03T06:00:00.000Z');
    expect(printDayFor(at(day, '14:59'), print)).toBe(day);
    expect(printDayFor(at(day, '15:00'), print)).toBe('2031-03-04');
    expect(printDayFor(at(day, '23:30'), print)).toBe('2031-03-04');
    expect(printDayFor(at(day, '00:10'), print)).toBe(day);

    // Print days are office working days: not after a Friday's cut-off until Monday, not on a holiday, not over New Year.
    expect(printDayFor(at('2031-03-07', '15:00'), print)).toBe('2031-03-10');
    expect(printDayFor(at('2031-03-08', '10:00'), print)).toBe('2031-03-10');
    expect(printDayFor(at('2031-05-02', '16:00'), print)).toBe('2031-05-07');
    expect(printDayFor(at('2030-12-27', '15:30'), print)).toBe('2031-01-06');
    expect(isOfficeWorkingDay('2031-05-06')).toBe(false);
    expect(isOfficeWorkingDay('2031-01-03')).toBe(false);

    const before = await queue(at(day, '09:00'));
    const after = await queue(at(day, '15:00'));
    expect([before.queued.batchId, after.queued.batchId]).toEqual([day, '2031-03-04']);
    expect(before.queued.status).toBe('queued');
    expect(before.queued.cutOffAt.toISOString()).toBe(cutOffAt(day, print).toISOString());
    // The proof copy: a PDF dated its print day.
    const { text } = await extractText(new Uint8Array(readFileSync(before.queued.pdfPath)), { mergePages: true });
    expect(text.replace(/\s+/g, '')).toContain('令和13年3月3日');

    // Queuing the same delivery again (a retried activity) changes nothing.
    const row = await letterRow(before.queued.reference);
    const again = await queueLetter(
      engine.db,
      {
        deliveryId: before.deliveryId,
        deliveryKey: 'ignored',
        outreachId: before.outreachId,
        residentId: before.resident.id,
        reference: 'OSR-other',
        postageClass: 'standard',
        content: JSON.parse(JSON.stringify(row.content)),
      },
      { outboxDir, print, now: at(day, '10:00') },
    );
    expect(again).toMatchObject({ reference: before.queued.reference, batchId: day, alreadyQueued: true });
    expect(await engine.db.selectFrom('letters').select('reference').where('outreach_id', '=', before.outreachId).execute()).toHaveLength(1);
  });

  it('cancels before the cut-off but not after; closes one PDF with a manifest; posted flows back', async () => {
    const day = '2031-03-10';
    const a = await queue(at(day, '09:00'), { postalCode: '150-0001' });
    const b = await queue(at(day, '09:30'), { postalCode: '100-0005', body: LONG_BODY });
    const c = await queue(at(day, '10:00'), { postalCode: '120-0001' });
    const d = await queue(at(day, '11:00'), { postalCode: '130-0001' });
    expect(b.queued.pages).toBe(2);

    // Before the cut-off: cancelled, in the letters table, the ledger and the audit log.
    const cancelled = await cancelLetter(engine.db, c.queued.reference, { now: at(day, '14:00'), reason: 'resident phoned' });
    expect(cancelled.outcome).toBe('cancelled');
    expect((await letterRow(c.queued.reference)).status).toBe('cancelled');
    const cLedger = await ledgerRow(c.deliveryId);
    expect(cLedger.status).toBe('cancelled');
    expect(cLedger.detail).toMatchObject({ letter: { status: 'cancelled', batchId: day, reason: 'resident phoned' } });
    expect((await actions(c.outreachId)).map((x) => x.action)).toContain('letter-cancelled');
    expect((await cancelLetter(engine.db, c.queued.reference, { now: at(day, '14:01'), reason: 'again' })).outcome).toBe('already-cancelled');

    // After it: too late, and the audit log says so.
    const late = await cancelLettersOfOutreach(engine.db, d.outreachId, { now: at(day, '15:01'), reason: 'outreach responded: applied' });
    expect(late.map((r) => r.outcome)).toEqual(['too-late']);
    expect((await letterRow(d.queued.reference)).status).toBe('queued');
    const tooLate = (await actions(d.outreachId)).find((x) => x.action === 'letter-cancel-too-late');
    expect(tooLate?.detail).toMatchObject({ reference: d.queued.reference, explanation: expect.stringMatching(/cut-off .* has passed/) });

    // A batch is not closed before its cut-off.
    await expect(closeBatch(engine.db, day, { outboxDir, print, now: at(day, '14:30') })).rejects.toMatchObject({ kind: 'not-due' });

    const closed = await closeBatch(engine.db, day, { outboxDir, print, now: at(day, '15:05') });
    expect(closed).toMatchObject({ batchId: day, status: 'handed-to-printer', letters: 3, pages: 4, alreadyClosed: false });
    // pdf.js detaches the buffer it is given: a fresh copy each time.
    const pdf = () => new Uint8Array(readFileSync(closed.mergedPdfPath!));
    const doc = await getDocumentProxy(pdf());
    expect(doc.numPages).toBe(a.queued.pages + b.queued.pages + d.queued.pages);

    // The batch holds every letter's name and address: 0600 files in a 0700 folder.
    expect([closed.mergedPdfPath!, closed.manifestPath!].map((f) => statSync(f).mode & 0o777)).toEqual([0o600, 0o600]);
    expect(statSync(dirname(closed.mergedPdfPath!)).mode & 0o777).toBe(0o700);
    const manifest = parseCsv(readFileSync(closed.manifestPath!, 'utf8'));
    expect(manifest[0]).toEqual(['sequence', 'reference', 'delivery_key', 'postal_code', 'postage_class', 'pages', 'first_page', 'last_page', 'bytes']);
    const lines = manifest.slice(1);
    // Sorted by postal code, the cancelled letter left out, page ranges back to back.
    expect(lines.map((l) => [l[1], l[3], l[5], l[6], l[7]])).toEqual([
      [b.queued.reference, '100-0005', '2', '1', '2'],
      [d.queued.reference, '130-0001', '1', '3', '3'],
      [a.queued.reference, '150-0001', '1', '4', '4'],
    ]);
    expect(lines[0]![2]).toBe(`${b.outreachId}#4:letter`);
    expect(lines.every((l) => l[4] === 'standard' && Number(l[8]) > 1000)).toBe(true);
    // Each range holds its own letter: its reference is in the footer of its last page.
    const { text: pages } = await extractText(pdf(), { mergePages: false });
    expect(pages[1]).toContain(b.queued.reference);
    expect(pages[2]).toContain(d.queued.reference);
    expect(pages[3]).toContain(a.queued.reference);

    // Flowed back: letters printed with their pages, ledger rows, one audit entry each.
    expect(await letterRow(b.queued.reference)).toMatchObject({ status: 'printed', first_page: 1, last_page: 2 });
    expect((await ledgerRow(b.deliveryId)).detail).toMatchObject({ letter: { status: 'printed', batchId: day, firstPage: 1, lastPage: 2 } });
    for (const l of [a, b, d]) expect((await actions(l.outreachId)).filter((x) => x.action === 'letter-printed')).toHaveLength(1);
    expect((await letterRow(c.queued.reference)).status).toBe('cancelled');

    // Closing again renders nothing new.
    const again = await closeBatch(engine.db, day, { outboxDir, print, now: at(day, '16:00') });
    expect(again).toEqual({ ...closed, alreadyClosed: true });
    // A queued letter of a closed batch is too late to cancel, whatever the clock says.
    expect((await cancelLetter(engine.db, a.queued.reference, { now: at(day, '10:00'), reason: 'x' })).outcome).toBe('too-late');
    // A letter queued now goes to the next day's batch.
    expect((await queue(at(day, '14:59'))).queued.batchId).toBe('2031-03-11');

    const posted = await markBatchPosted(engine.db, day, { now: at(day, '17:00') });
    expect(posted).toEqual({ batchId: day, letters: 3, alreadyPosted: false });
    expect((await letterRow(a.queued.reference)).status).toBe('posted');
    expect(await ledgerRow(a.deliveryId)).toMatchObject({ status: 'sent', detail: { letter: { status: 'posted', firstPage: 4 } } });
    expect((await actions(a.outreachId)).filter((x) => x.action === 'letter-posted')).toHaveLength(1);
    expect((await markBatchPosted(engine.db, day)).alreadyPosted).toBe(true);
    expect((await actions(a.outreachId)).filter((x) => x.action === 'letter-posted')).toHaveLength(1);

    const summary = (await listBatches(engine.db)).find((s) => s.batchId === day);
    expect(summary).toMatchObject({ status: 'posted', letters: 3, pages: 4, byStatus: { queued: 0, cancelled: 1, printed: 0, posted: 3, returned: 0 } });
  });

  it('records a returned letter once: address flagged, one caseworker task', async () => {
    const day = '2031-03-17';
    const l = await queue(at(day, '09:00'));
    await expect(recordReturnedLetter(engine.db, l.queued.reference, '宛所不明')).rejects.toMatchObject({ kind: 'conflict' });
    await closeBatch(engine.db, day, { outboxDir, print, now: at(day, '15:30') });
    await markBatchPosted(engine.db, day);

    const first = await recordReturnedLetter(engine.db, l.queued.reference, '宛所不明', { actor: 'mailroom' });
    const second = await recordReturnedLetter(engine.db, l.queued.reference, '宛所不明', { actor: 'mailroom' });
    expect(first.alreadyRecorded).toBe(false);
    expect(second).toEqual({ ...first, alreadyRecorded: true });
    expect(await letterRow(l.queued.reference)).toMatchObject({ status: 'returned', return_reason: '宛所不明' });
    expect((await engine.db.selectFrom('residents').select('postal_status').where('id', '=', l.resident.id).executeTakeFirstOrThrow()).postal_status).toBe(
      'invalid',
    );
    const tasks = await engine.tasks(l.outreachId);
    expect(tasks.map((t) => [t.kind, t.status, t.id])).toEqual([['letter-returned', 'open', first.taskId]]);
    expect(await ledgerRow(l.deliveryId)).toMatchObject({ status: 'failed', detail: { letter: { status: 'returned', returnReason: '宛所不明' } } });
    expect((await actions(l.outreachId)).map((x) => x.action).filter((a) => a !== 'letter-printed' && a !== 'letter-posted')).toEqual([
      'letter-returned',
      'postal-address-flagged',
      'task-opened',
    ]);

    await expect(recordReturnedLetter(engine.db, 'OSR-99999999', '宛所不明')).rejects.toBeInstanceOf(LetterOperationError);
    await expect(recordReturnedLetter(engine.db, l.queued.reference, '  ')).rejects.toMatchObject({ kind: 'invalid' });
  });
});

describe('letters over HTTP and the command line', () => {
  let svc: TestService;
  let vendor: CreatedClient;
  let base = '';
  beforeAll(async () => {
    // The print vendor is a calling system: its own key, a signed JWT per request.
    svc = await startTestService(engine, { msPerDay: 1000 });
    vendor = await svc.client('print-vendor');
    base = `${svc.service.internalUrl}/api/v1`;
  });
  afterAll(async () => {
    await svc?.close();
  });
  const auth = async () => ({ Authorization: await svc.bearer(vendor) });

  const post = async (body: unknown) =>
    fetch(`${base}/letters/returns`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...(await auth()) }, body: JSON.stringify(body) });

  it('POST /letters/returns records a return once; GET /letters/batches lists batches', async () => {
    const day = '2031-03-24';
    const l = await queue(at(day, '09:00'));
    await closeBatch(engine.db, day, { outboxDir, print, now: at(day, '15:30') });

    const first = await post({ reference: l.queued.reference, reason: '転居先不明' });
    expect(first.status).toBe(201);
    const body = (await first.json()) as { taskId: number; alreadyRecorded: boolean };
    expect(body).toMatchObject({ status: 'returned', alreadyRecorded: false });
    const second = await post({ reference: l.queued.reference, reason: '転居先不明' });
    expect([second.status, await second.json()]).toEqual([200, { ...body, reference: l.queued.reference, status: 'returned', alreadyRecorded: true }]);
    expect((await engine.tasks(l.outreachId)).map((t) => t.kind)).toEqual(['letter-returned']);

    expect((await post({ reference: 'OSR-99999998', reason: 'x' })).status).toBe(404);
    expect((await post({ reference: '../etc', reason: 'x' })).status).toBe(400);
    expect((await post({ reference: l.queued.reference })).status).toBe(400);

    const list = await fetch(`${base}/letters/batches?limit=500`, { headers: await auth() });
    const { batches } = (await list.json()) as { batches: Array<{ batchId: string; byStatus: Record<string, number> }> };
    expect(batches.find((b) => b.batchId === day)?.byStatus).toMatchObject({ returned: 1 });
    expect((await fetch(`${base}/letters/batches?limit=0`, { headers: await auth() })).status).toBe(400);
  });

  it('oshirase letters cancel / batches / return / batch posted', async () => {
    const { ctx, out } = capturingContext({ engine: async () => engine.context, temporal: async () => engine.client });
    const now = new Date();
    const l = await queue(now);
    expect(await LETTER_HANDLERS['letters cancel']([l.queued.reference, '--reason', 'asked at the counter'], ctx)).toBe(0);
    expect(out.at(-1)).toBe(`${l.queued.reference}: cancelled (batch ${printDayFor(now, print)})`);
    expect((await actions(l.outreachId)).find((x) => x.action === 'letter-cancelled')?.detail).toMatchObject({ reason: 'asked at the counter' });

    expect(await LETTER_HANDLERS['letters batches'](['--json', '--limit', '500'], ctx)).toBe(0);
    expect((JSON.parse(out.at(-1)!) as Array<{ batchId: string }>).map((b) => b.batchId)).toContain('2031-03-10');

    expect(await LETTER_HANDLERS['letters batch posted'](['2031-03-10'], ctx)).toBe(0);
    expect(out.at(-1)).toMatch(/already recorded as posted/);
    await expect(LETTER_HANDLERS['letters return'](['OSR-00000001'], ctx)).rejects.toThrow(/--reason is required/);
  });
});

describe('the letter step in an outreach', () => {
  const GOOD_ADDRESS = 'おしらせ市丸の内一丁目2番3号';

  it('opens an unreachable task instead of queuing a letter to an invalid address', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], email: false });
    await engine.db.updateTable('residents').set({ address: '丸の内のどこか' }).where('id', '=', resident.id).execute();
    // Long plan days: the deadline (day 12) can never come before the letter step, however slow the
    // machine; the step is awaited as an event (its ledger row and task), then the outreach is answered.
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 60_000 }));
    const letter = await waitFor(
      'the letter step',
      async () =>
        (await engine.tasks(outreachId)).some((t) => t.kind === 'unreachable') &&
        (await engine.ledger(outreachId)).find((d) => d.channel === 'letter' && d.status !== 'pending'),
    );
    await engine.client.workflow.getHandle(outreachId).signal('respond', { kind: 'applied', via: 'link' });
    expect((await engine.result(outreachId)).state).toBe('responded');

    expect(letter.status).toBe('skipped');
    expect((letter.detail as { reason: string }).reason).toMatch(
      /^postal address invalid: address: names neither a prefecture nor the city .*; address: has no block number/,
    );
    expect(await engine.db.selectFrom('letters').select('reference').where('outreach_id', '=', outreachId).execute()).toEqual([]);
    expect((await engine.tasks(outreachId)).map((t) => t.kind)).toContain('unreachable');
    expect((await engine.audit(resident.id)).map((a) => a.action)).toContain('postal-address-invalid');
  });

  it('cancels the queued letter when the resident answers before the cut-off', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'], email: false });
    await engine.db.updateTable('residents').set({ address: GOOD_ADDRESS }).where('id', '=', resident.id).execute();
    // No email, no push: the letter is the first send that reaches the resident.
    // Long plan days: the answer below must come before the deadline (day 12), however slow the machine.
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 60_000 }));
    // Once the letter step is done (ledger 'sent'), not merely once its row is in: the proof is written after the commit.
    await waitFor('the letter step', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'letter' && d.status === 'sent'));
    const queued = await engine.db.selectFrom('letters').selectAll().where('outreach_id', '=', outreachId).executeTakeFirstOrThrow();
    expect(queued.status).toBe('queued');
    expect(existsSync(queued.pdf_path)).toBe(true);
    expect(queued.pdf_path.startsWith(join(engine.context.config.dataDir, 'print-outbox'))).toBe(true);

    await engine.client.workflow.getHandle(outreachId).signal('respond', { kind: 'applied', via: 'link' });
    expect((await engine.result(outreachId)).state).toBe('responded');

    expect((await letterRow(queued.reference)).status).toBe('cancelled');
    const ledger = (await engine.ledger(outreachId)).find((d) => d.channel === 'letter')!;
    expect(ledger).toMatchObject({
      status: 'cancelled',
      provider_ref: queued.reference,
      detail: { letter: { status: 'cancelled', reason: 'outreach responded: applied' } },
    });
    const audit = (await engine.audit(resident.id)).map((a) => a.action);
    expect(audit.indexOf('letter-cancelled')).toBeGreaterThan(audit.indexOf('notice-sent'));
    expect(audit.indexOf('letter-cancelled')).toBeLessThan(audit.indexOf('outreach-ended'));
  });
});
