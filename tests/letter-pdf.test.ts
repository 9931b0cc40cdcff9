import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractText, getDocumentProxy, getMeta } from 'unpdf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatJapaneseEraDate, renderLetterPdf, type LetterContent } from '../channels/letter/letter-pdf';
import { addToPrintOutbox, parseCsv } from '../channels/letter/print-outbox';
import { letterAddressProblem, letterAnswer } from '../engine/outreach/response-links';

const sender: LetterContent['sender'] = {
  name: 'みどり市長 山田 太郎',
  department: 'こども家庭部 子育て支援課',
  postalCode: '100-0001',
  address: '東京都みどり市本町一丁目1番1号',
  phone: '03-1234-5678',
};

const childAllowanceParagraphs = [
  '　このたびは、お子さまのご誕生、誠におめでとうございます。',
  '　お子さまを養育している方は、児童手当を受け取ることができます。児童手当は、0歳から高校生年代（18歳到達後最初の3月31日まで）のお子さまを養育している方に支給されます。受け取るためには、お住まいの市区町村への申請が必要です。',
  '　市が把握している情報によると、あなたは児童手当の対象となる可能性があります。同封の案内またはオンラインで、出生日の翌日から15日以内に申請してください。申請が遅れると、遅れた月分の手当を受け取れなくなる場合があります。',
  '【支給額（月額）】\n・3歳未満：15,000円（第3子以降は30,000円）\n・3歳以上高校生年代まで：10,000円（第3子以降は30,000円）',
  '　公務員の方は、勤務先から支給されますので、勤務先にお問い合わせください。',
  '　ご不明な点は、上記の問い合わせ先までお気軽にご連絡ください。',
];

const japaneseLetter: LetterContent = {
  recipient: { postalCode: '1600023', address: '東京都新宿区西新宿二丁目8番1号', name: '佐藤 花子 様' },
  sender,
  issuedOn: '2026-11-26',
  locale: 'ja',
  title: '児童手当の申請のご案内',
  // Repeated so the body has to flow onto a second page.
  body: [...childAllowanceParagraphs, ...childAllowanceParagraphs, ...childAllowanceParagraphs].join('\n\n'),
  reference: 'OSR-000123',
};

async function pagesText(pdf: Buffer): Promise<string[]> {
  // pdf.js may detach the buffer it is given, so hand it a copy.
  const { text } = await extractText(new Uint8Array(pdf), { mergePages: false });
  return text;
}

// pdf.js may split runs with spaces; compare Japanese text without whitespace.
const squash = (s: string): string => s.replace(/\s+/g, '');

describe('formatJapaneseEraDate', () => {
  it('uses 平成 up to 2019-04-30', () => {
    expect(formatJapaneseEraDate('2019-04-30')).toBe('平成31年4月30日');
  });
  it('writes the first year of 令和 as 元年', () => {
    expect(formatJapaneseEraDate('2019-05-01')).toBe('令和元年5月1日');
  });
  it('formats a later 令和 date', () => {
    expect(formatJapaneseEraDate('2026-11-26')).toBe('令和8年11月26日');
  });
  it('rejects malformed and impossible dates', () => {
    expect(() => formatJapaneseEraDate('2026-2-3')).toThrow();
    expect(() => formatJapaneseEraDate('2026-02-30')).toThrow();
  });
});

describe('renderLetterPdf', () => {
  it('renders a two-page Japanese letter with era date, recipient and page numbers', async () => {
    const pdf = await renderLetterPdf(japaneseLetter);
    const pages = await pagesText(pdf);
    expect(pages).toHaveLength(2);
    const all = pages.join('\n');
    expect(squash(all)).toContain('児童手当の申請のご案内');
    expect(squash(all)).toContain('佐藤花子様');
    expect(squash(all)).toContain('令和8年11月26日（2026年11月26日）');
    expect(pages[0]).toContain('1 / 2');
    expect(pages[1]).toContain('2 / 2');
    expect(pages[1]).toContain('OSR-000123');

    const { info } = await getMeta(new Uint8Array(pdf));
    expect(info.Title).toBe('児童手当の申請のご案内');
    expect(info.Author).toBe(sender.name);
    expect(info.Language).toBe('ja-JP');
  });

  it('gives identical bytes when the same letter is rendered again', async () => {
    const [a, b] = await Promise.all([renderLetterPdf(japaneseLetter), renderLetterPdf(japaneseLetter)]);
    expect(a.equals(b)).toBe(true);
  });

  it('renders an English letter with a Western date only', async () => {
    const pdf = await renderLetterPdf({
      ...japaneseLetter,
      recipient: { ...japaneseLetter.recipient, name: 'Ms. Hanako Sato' },
      locale: 'en',
      title: 'Child Allowance: how to apply',
      body: 'Congratulations on the birth of your child.\n\nYou may be eligible for the Child Allowance. Please apply within 15 days.',
      reference: 'OSR-000124',
    });
    const pages = await pagesText(pdf);
    expect(pages).toHaveLength(1);
    const text = pages[0] ?? '';
    expect(text).toContain('Child Allowance: how to apply');
    expect(text).toContain('26 November 2026');
    expect(text).not.toContain('令和');
    expect(text).toContain('1 / 1');
    expect((await getMeta(new Uint8Array(pdf))).info.Language).toBe('en');
  });

  it('renders an easy-Japanese letter', async () => {
    const pdf = await renderLetterPdf({
      ...japaneseLetter,
      locale: 'ja-easy',
      issuedOn: '2019-05-01',
      title: '子（こ）どもの お金（かね）の お知（し）らせ',
      body: '赤（あか）ちゃんが 生（う）まれました。\n\n市（し）から お金（かね）を もらうことが できます。',
      reference: 'OSR-000125',
    });
    const text = squash((await pagesText(pdf)).join('\n'));
    expect(text).toContain('お金（かね）を');
    expect(text).toContain('令和元年5月1日（2019年5月1日）');
    expect(text).toContain('1/1');
  });
});

describe('addToPrintOutbox', () => {
  let outboxDir = '';
  beforeAll(async () => {
    outboxDir = await mkdtemp(join(tmpdir(), 'oshirase-outbox-'));
  });
  afterAll(async () => {
    await rm(outboxDir, { recursive: true, force: true });
  });

  it('writes the PDF and a manifest line once per delivery key', async () => {
    const pdf = await renderLetterPdf(japaneseLetter);
    const letter = {
      deliveryKey: 'outreach-42:letter',
      reference: 'OSR-000123',
      postalCode: '160-0023',
      postageClass: 'standard' as const,
      pdf,
      issuedOn: '2026-11-26',
    };
    const first = await addToPrintOutbox(outboxDir, letter);
    expect(first.alreadyPresent).toBe(false);
    expect(first.pdfPath).toBe(join(outboxDir, '2026-11-26', 'OSR-000123.pdf'));
    expect((await readFile(first.pdfPath)).equals(pdf)).toBe(true);
    // Names and addresses: readable by the engine's user only, in a folder only it may enter.
    expect((await stat(first.pdfPath)).mode & 0o777).toBe(0o600);
    expect((await stat(first.manifestPath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(outboxDir, '2026-11-26'))).mode & 0o777).toBe(0o700);

    const manifest = await readFile(first.manifestPath, 'utf8');
    const rows = parseCsv(manifest);
    expect(rows[0]).toEqual(['reference', 'delivery_key', 'postal_code', 'postage_class', 'file', 'pages', 'bytes', 'added_at']);
    expect(rows).toHaveLength(2);
    expect(rows[1]?.slice(0, 7)).toEqual(['OSR-000123', 'outreach-42:letter', '160-0023', 'standard', 'OSR-000123.pdf', '2', String(pdf.length)]);

    const second = await addToPrintOutbox(outboxDir, letter);
    expect(second).toEqual({ ...first, alreadyPresent: true });
    expect(await readFile(first.manifestPath, 'utf8')).toBe(manifest);
    // No temp files left behind.
    expect((await readdir(join(outboxDir, '2026-11-26'))).sort()).toEqual(['OSR-000123.pdf', 'manifest.csv']);
  });

  it('keeps the manifest consistent under concurrent adds and quotes awkward fields', async () => {
    const pdf = await renderLetterPdf({ ...japaneseLetter, body: 'short', reference: 'OSR-000200' });
    const letters = Array.from({ length: 12 }, (_, i) => ({
      deliveryKey: i === 0 ? 'key with "quotes", a comma\nand a newline' : `key-${i % 6}`,
      reference: `OSR-${String(200 + i).padStart(6, '0')}`,
      postalCode: '100-0001',
      postageClass: 'registered' as const,
      pdf,
      issuedOn: '2026-11-27',
    }));
    const results = await Promise.all(letters.map((l) => addToPrintOutbox(outboxDir, l)));
    // Slots i and i + 6 share a key, except slot 0, which has the awkward key instead of key-0.
    expect(results.filter((r) => !r.alreadyPresent)).toHaveLength(7);
    const rows = parseCsv(await readFile(join(outboxDir, '2026-11-27', 'manifest.csv'), 'utf8')).slice(1);
    expect(rows).toHaveLength(7);
    expect(rows.map((r) => r[1])).toContain('key with "quotes", a comma\nand a newline');
    expect(new Set(rows.map((r) => r[1])).size).toBe(7);
  });

  it('refuses a reference that is not a plain file name', async () => {
    await expect(
      addToPrintOutbox(outboxDir, {
        deliveryKey: 'k',
        reference: '../escape',
        postalCode: '100-0001',
        postageClass: 'standard',
        pdf: Buffer.from('%PDF-1.3\n'),
        issuedOn: '2026-11-26',
      }),
    ).rejects.toThrow(/file name/);
  });
});

describe('what a resident needs to act on a letter', () => {
  /** Each piece of text on page 1 with the size it is set in (pt). */
  async function textSizes(pdf: Buffer): Promise<Array<{ text: string; size: number }>> {
    const doc = await getDocumentProxy(new Uint8Array(pdf));
    const content = await (await doc.getPage(1)).getTextContent();
    return content.items.flatMap((item) =>
      'str' in item && item.str.trim() ? [{ text: item.str, size: Math.hypot(item.transform[0], item.transform[1]) }] : [],
    );
  }

  for (const locale of ['ja', 'en', 'ja-easy'] as const) {
    it(`${locale}: the phone number, counter hours, answer code and address are at least 11 pt`, async () => {
      const letter: LetterContent = {
        ...japaneseLetter,
        locale,
        sender: { ...sender, hours: '窓口 平日 8:30〜17:15' },
        answer: letterAnswer('https://oshirase.city.example.jp', '4K7-P9M-Q2X'),
        body: 'short',
      };
      const sizes = await textSizes(await renderLetterPdf(letter));
      const sizeOf = (needle: string, whole = false) => {
        const found = sizes.filter((s) => (whole ? s.text.trim() === needle : s.text.replace(/\s+/g, '').includes(needle)));
        expect(found.length, `${needle} is printed`).toBeGreaterThan(0);
        return Math.min(...found.map((s) => s.size));
      };
      expect(sizeOf('03-1234-5678')).toBeGreaterThanOrEqual(11);
      expect(sizeOf('8:30〜17:15')).toBeGreaterThanOrEqual(11);
      // The code on its own line, large; it is in the address too.
      expect(sizeOf('4K7-P9M-Q2X', true)).toBeGreaterThanOrEqual(16);
      expect(sizeOf('oshirase.city.example.jp/r/4K7-P9M-Q2X')).toBeGreaterThanOrEqual(11);
    });
  }

  it('the short answer address drops https:// and stays within 40 characters, or PUBLIC_BASE_URL is warned about', () => {
    expect(letterAnswer('https://oshirase.city.example.jp', '4K7-P9M-Q2X')).toEqual({
      code: '4K7-P9M-Q2X',
      address: 'oshirase.city.example.jp/r/4K7-P9M-Q2X',
      url: 'https://oshirase.city.example.jp/r/4K7-P9M-Q2X',
    });
    // Plain http keeps its scheme: a browser would try https.
    expect(letterAnswer('http://127.0.0.1:8080', '4K7-P9M-Q2X').address).toBe('http://127.0.0.1:8080/r/4K7-P9M-Q2X');
    expect(letterAddressProblem('https://oshirase.city.example.jp')).toBeNull();
    expect(letterAddressProblem('https://abcdefghijklmnopqrstuvwxyz')).toBeNull();
    expect(letterAddressProblem('https://oshirase-notices.city.example.lg.jp')).toBe(
      'PUBLIC_BASE_URL: letters would print the answer address oshirase-notices.city.example.lg.jp/r/XXX-XXX-XXX (49 characters), longer than the 40 a resident can be expected to type from paper: give the public service an address of at most 26 characters without https:// (now 35: oshirase-notices.city.example.lg.jp)',
    );
  });

  it('a letter queued before answer blocks existed renders as before, without one', async () => {
    const { text } = await extractText(new Uint8Array(await renderLetterPdf({ ...japaneseLetter, body: 'short' })), { mergePages: true });
    expect(text).not.toContain('回答コード');
  });
});
