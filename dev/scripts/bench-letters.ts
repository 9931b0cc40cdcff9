/**
 * How long a day's print run takes and how big its file is: queues N letters
 * (default 1,000) to synthetic residents of a generated population, then closes
 * the batch into one merged PDF and its manifest. Runs on an embedded PGlite in
 * a temporary folder: no PostgreSQL server, no Temporal, nothing left behind.
 *
 *   npm run bench:letters -- [--letters 1000] [--keep]
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../../store/connect';
import { migrateToLatest } from '../../store/migrate';
import { insertDelivery } from '../../store/delivery-ledger';
import type { Locale } from '../../store/schema';
import { generatePopulation } from '../population/generate-population';
import { postalAddressProblems } from '../../channels/letter/postal-address';
import { closeBatch, queueLetter } from '../../channels/letter/print-batches';
import type { PrintConfig } from '../../config/print-config';
import { parseCsv } from '../../channels/letter/print-outbox';
import { letterReference } from '../../channels/letter/letter-pdf';

const { values } = parseArgs({ options: { letters: { type: 'string', default: '1000' }, keep: { type: 'boolean', default: false } } });
const letterCount = Number(values.letters);
if (!Number.isInteger(letterCount) || letterCount < 1 || letterCount > 100_000) {
  process.stderr.write('--letters must be a whole number from 1 to 100000\n');
  process.exit(2);
}

const PRINT: PrintConfig = { cutoff: { hour: 15, minute: 0 }, postageYen: 110 };
const DAY = '2031-01-06';
const CITY = ['おしらせ市', 'Oshirase City'];

// The child-allowance letter as residents receive it, per language (the bench needs no template engine).
const TEXT: Record<Locale, { title: string; body: string }> = {
  ja: {
    title: '児童手当の申請のご案内',
    body: [
      'ご出産おめでとうございます。令和12年12月20日にお届けいただいた出生について、児童手当の申請をご案内します。',
      '児童手当は、申請した月の翌月分から支給されます。令和13年1月4日までに申請すると、申請が遅れたことで受け取れなくなる月がありません。',
      '申請は、オンライン（https://city.example.jp/r/0123456789abcdef）またはこども家庭課の窓口でできます。窓口では、申請者の健康保険証と振込先の口座がわかるものをお持ちください。',
      '【支給額（月額）】\n・3歳未満：15,000円（第3子以降は30,000円）\n・3歳以上高校生年代まで：10,000円（第3子以降は30,000円）',
      'すでに申請された方、対象ではない方は、この通知に対応していただく必要はありません。',
    ].join('\n\n'),
  },
  en: {
    title: 'How to apply for the child allowance',
    body: [
      'Congratulations on the birth of your child, registered on 20 December 2030.',
      'The child allowance is paid from the month after you apply. Apply by 4 January 2031 so that no month is lost.',
      'You can apply online (https://city.example.jp/r/0123456789abcdef) or at the Children and Families Division counter. Please bring your health insurance card and your bank details.',
      'If you have already applied, or this does not apply to you, you need not do anything.',
    ].join('\n\n'),
  },
  'ja-easy': {
    title: 'こどもの ための おかね（児童手当）の もうしこみ',
    body: [
      '赤（あか）ちゃんが 生（う）まれました。おめでとうございます。',
      '市（し）から こどもの ための おかねを もらうことが できます。もうしこみが ひつようです。',
      '1月（がつ）4日（よっか）までに もうしこみを してください。インターネット（https://city.example.jp/r/0123456789abcdef）か、市役所（しやくしょ）の まどぐちで できます。',
    ].join('\n\n'),
  },
};

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const seconds = (ms: number) => (ms / 1000).toFixed(1);

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'oshirase-bench-letters-'));
  const database = await openDatabase({ pgliteDir: join(work, 'pgdata') });
  const outboxDir = join(work, 'print-outbox');
  try {
    const db = database.db;
    await migrateToLatest(db);
    // Not everyone has a postal address on file; generate enough people to find N who do.
    await generatePopulation(db, { residents: Math.ceil(letterCount * 1.6) + 50, seed: 20310106, idPrefix: 'B', referenceDate: DAY });
    const residents = await db
      .selectFrom('residents')
      .select(['id', 'family_name', 'given_name', 'locale', 'postal_code', 'address'])
      .where('address', 'is not', null)
      .where('residence_status', '=', 'registered')
      .orderBy('id')
      .limit(letterCount)
      .execute();
    if (residents.length < letterCount) throw new Error(`only ${residents.length} residents with an address`);

    const started = performance.now();
    let invalid = 0;
    for (const [i, r] of residents.entries()) {
      if (postalAddressProblems({ postalCode: r.postal_code, address: r.address }, { cityNames: CITY }).length > 0) invalid++;
      const outreachId = `bench:${r.id}`;
      await db
        .insertInto('outreach')
        .values({
          id: outreachId,
          rule_id: 'child-allowance',
          rule_version: 2,
          resident_id: r.id,
          occurrence_key: 'bench',
          event_id: null,
          status: 'active',
          response: null,
        })
        .execute();
      const key = `${outreachId}#4:letter`;
      const deliveryId = await insertDelivery(db, {
        idempotency_key: key,
        outreach_id: outreachId,
        resident_id: r.id,
        rule_id: 'child-allowance',
        rule_version: 2,
        step_index: 4,
        channel: 'letter',
        status: 'pending',
      });
      const text = TEXT[r.locale];
      const name = r.locale === 'en' ? `${r.given_name} ${r.family_name}` : `${r.family_name} ${r.given_name} 様`;
      await queueLetter(
        db,
        {
          deliveryId,
          deliveryKey: key,
          outreachId,
          residentId: r.id,
          reference: letterReference(deliveryId),
          postageClass: 'standard',
          content: {
            recipient: { postalCode: r.postal_code!, address: r.address!, name },
            sender: {
              name: 'おしらせ市長',
              department: r.locale === 'en' ? 'Children and Families Division' : 'こども家庭課',
              postalCode: '100-0001',
              address: 'おしらせ市中央1-1-1',
              phone: '03-1234-5678',
            },
            locale: r.locale,
            ...text,
          },
        },
        { outboxDir, print: PRINT, now: new Date(`${DAY}T09:00:00+09:00`) },
      );
      if ((i + 1) % 100 === 0) process.stderr.write(`\rqueued ${i + 1}/${letterCount}`);
    }
    process.stderr.write('\n');
    const queuedMs = performance.now() - started;

    const closing = performance.now();
    const closed = await closeBatch(db, DAY, { outboxDir, print: PRINT, now: new Date(`${DAY}T15:05:00+09:00`) });
    const closeMs = performance.now() - closing;
    const pdfBytes = (await stat(closed.mergedPdfPath!)).size;
    const manifestLines = parseCsv(await readFile(closed.manifestPath!, 'utf8')).length - 1;

    process.stdout.write(
      [
        `letters: ${closed.letters} (${invalid} with an address validation would refuse), pages: ${closed.pages}, manifest lines: ${manifestLines}`,
        `queue (validate, render each proof PDF, insert): ${seconds(queuedMs)} s (${(queuedMs / letterCount).toFixed(0)} ms a letter)`,
        `close (one merged PDF + manifest + ledger and audit): ${seconds(closeMs)} s`,
        `merged PDF: ${mb(pdfBytes)} MB (${(pdfBytes / closed.letters / 1024).toFixed(1)} KB a letter)`,
        values.keep ? `files kept in ${work}` : '',
      ]
        .filter(Boolean)
        .join('\n') + '\n',
    );
  } finally {
    await database.close();
    if (!values.keep) await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
