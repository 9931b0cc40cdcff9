import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';
import { formatJapaneseEraDate } from '../../engine/notices/format-dates';
import { parseIsoDate, tokyoInstant } from '../../foundation/tokyo-calendar';
import type { Locale } from '../../store/vocabulary';

/** The reference (整理番号) printed on a letter and used to find it again (cancel, returned mail): 'OSR-' and the ledger row's id in eight digits. */
export function letterReference(deliveryId: number): string {
  return `OSR-${String(deliveryId).padStart(8, '0')}`;
}

/** How a letter is answered: the code to type, the short address to type it at, and the answer page's URL for the QR code. */
export interface LetterAnswerBlock {
  code: string; // formatted, e.g. '4K7-P9M-Q2X'
  address: string; // printed for typing, at most 40 characters, e.g. 'oshirase.city.example.jp/r/4K7-P9M-Q2X'
  url: string; // what the QR code holds, e.g. 'https://oshirase.city.example.jp/r/4K7-P9M-Q2X'
}

export interface LetterContent {
  recipient: { postalCode: string; address: string; name: string }; // name already with honorific, e.g. '佐藤 花子 様'
  /** `hours`: the counter's opening hours as printed under the phone number (letters queued by earlier versions have none). */
  sender: { name: string; department: string; postalCode: string; address: string; phone: string; hours?: string };
  /** The answer block with its QR code (letters queued by earlier versions have none: their code is in the body). */
  answer?: LetterAnswerBlock;
  issuedOn: string; // ISO date 'YYYY-MM-DD' (Asia/Tokyo calendar date)
  locale: Locale;
  title: string;
  body: string; // rendered template text; paragraphs separated by blank lines
  reference: string; // tracking reference printed small at the bottom, e.g. 'OSR-000123'
  /** Merged notices: further schemes in the same envelope, each from a new page with its title, body and own answer block. */
  enclosed?: ReadonlyArray<{ title: string; body: string; answer: LetterAnswerBlock }>;
}

const MM = 72 / 25.4;

/**
 * Page geometry in millimetres, A4 portrait (210 × 297 mm). The letter is folded
 * in three (99 mm panels) into a 長形3号 (120 × 235 mm) window envelope, so the
 * recipient block must sit exactly where the envelope window is; everything else
 * on the top panel has to stay clear of it.
 */
export const LETTER_LAYOUT_MM = {
  page: { width: 210, height: 297 },
  /** Visible area of a standard 長形3号 window, measured on the folded A4 sheet. */
  window: { left: 22, top: 18, width: 90, height: 45 },
  /** Keep text this far inside the window: the sheet shifts a few mm inside the envelope. */
  windowPadding: 4,
  margin: { left: 20, right: 20, top: 20, bottom: 24 },
  /** Sender block starts right of the window so it never shows through it. */
  senderLeft: 120,
  /** Earliest start of the title on page 1, below the window. */
  titleTop: 76,
  /** Baseline zone of the page number / reference, measured from the bottom edge. */
  footerFromBottom: 14,
} as const;

const FONT_REGULAR = 'NotoSansJP-Regular';
const FONT_BOLD = 'NotoSansJP-Bold';

interface Typography {
  body: number;
  title: number;
  /** The sender block, the phone number and counter hours included: at least 11 pt, so a resident with poor sight can call. */
  sender: number;
  /** The answer code in the answer block. */
  code: number;
  address: number;
  name: number;
  footer: number;
}

const TYPOGRAPHY: Record<LetterContent['locale'], Typography> = {
  ja: { body: 11, title: 16, sender: 11, code: 20, address: 11, name: 14, footer: 8.5 },
  en: { body: 11, title: 16, sender: 11, code: 20, address: 11, name: 14, footer: 8.5 },
  // やさしい日本語 guidance: larger type, more air between lines.
  'ja-easy': { body: 12, title: 17, sender: 12, code: 20, address: 11, name: 14, footer: 9 },
};

/** The QR code's side, quiet zone included: phones read it from about 20 mm up. */
export const LETTER_QR_MM = 28;

const ANSWER_LABELS: Record<LetterContent['locale'], { code: string; address: string; how: string }> = {
  ja: {
    code: '回答コード',
    address: '回答ページ',
    how: 'スマートフォンで左のQRコードを読み取るか、回答ページのアドレスを入力してください。回答コードは窓口やお電話でもお伝えいただけます。',
  },
  en: {
    code: 'Answer code',
    address: 'Answer page',
    how: 'Scan the QR code on the left with your phone, or type the answer page address. You can also give the answer code at the counter or by phone.',
  },
  'ja-easy': {
    code: 'こたえる ための コード',
    address: 'こたえる ページ',
    how: 'スマートフォンで ひだりの QRコードを よみとるか、ページの アドレスを いれて ください。',
  },
};

const LABELS: Record<LetterContent['locale'], { phone: string; reference: string; lang: string }> = {
  ja: { phone: '電話', reference: '整理番号', lang: 'ja-JP' },
  en: { phone: 'Tel.', reference: 'Reference', lang: 'en' },
  // There is no language subtag for easy Japanese; it is Japanese to assistive tech.
  'ja-easy': { phone: 'でんわ', reference: 'ばんごう', lang: 'ja-JP' },
};

const require = createRequire(import.meta.url);
let fontsPromise: Promise<{ regular: Buffer; bold: Buffer }> | undefined;

// The TTFs are ~5 MB each; read them once per process, not per letter.
function loadFonts(): Promise<{ regular: Buffer; bold: Buffer }> {
  fontsPromise ??= Promise.all([
    readFile(require.resolve('@expo-google-fonts/noto-sans-jp/400Regular/NotoSansJP_400Regular.ttf')),
    readFile(require.resolve('@expo-google-fonts/noto-sans-jp/700Bold/NotoSansJP_700Bold.ttf')),
  ]).then(([regular, bold]) => ({ regular, bold }));
  fontsPromise.catch(() => {
    fontsPromise = undefined;
  });
  return fontsPromise;
}

// One implementation of the Japanese calendar for notices and letters.
export { formatJapaneseEraDate };

const EN_MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'] as const;

function formatIssuedOn(isoDate: string, locale: LetterContent['locale']): string {
  const { year, month, day } = parseIsoDate(isoDate);
  if (locale === 'en') return `${day} ${EN_MONTHS[month - 1]} ${year}`;
  return `${formatJapaneseEraDate(isoDate)}（${year}年${month}月${day}日）`;
}

function splitParagraphs(body: string): string[] {
  return body
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n/)
    .map((p) => p.replace(/^\n+|\s+$/g, ''))
    .filter((p) => p.length > 0);
}

function formatPostalCode(postalCode: string): string {
  const digits = postalCode.replace(/[^0-9]/g, '');
  return digits.length === 7 ? `〒${digits.slice(0, 3)}-${digits.slice(3)}` : `〒${postalCode.trim()}`;
}

type Doc = PDFKit.PDFDocument;

function drawRecipient(doc: Doc, letter: LetterContent, type: Typography): void {
  const L = LETTER_LAYOUT_MM;
  const x = (L.window.left + L.windowPadding) * MM;
  const y = (L.window.top + L.windowPadding) * MM;
  const width = (L.window.width - 2 * L.windowPadding) * MM;
  const maxHeight = (L.window.height - 2 * L.windowPadding) * MM;
  const postal = formatPostalCode(letter.recipient.postalCode);

  // Long addresses shrink rather than spill outside the window, where the post office cannot read them.
  let scale = 1;
  const measure = (s: number): number => {
    doc.font(FONT_REGULAR);
    const a = doc.fontSize(type.address * s).heightOfString(postal, { width }) + doc.heightOfString(letter.recipient.address, { width });
    doc.font(FONT_BOLD);
    const n = doc.fontSize(type.name * s).heightOfString(letter.recipient.name, { width });
    return a + n + type.address * s * 0.8;
  };
  while (scale > 0.6 && measure(scale) > maxHeight) scale -= 0.05;

  doc.font(FONT_REGULAR).fontSize(type.address * scale);
  doc.text(postal, x, y, { width });
  doc.text(letter.recipient.address, x, doc.y, { width });
  doc.moveDown(0.8);
  doc.font(FONT_BOLD).fontSize(type.name * scale);
  doc.text(letter.recipient.name, x, doc.y, { width });
}

function drawSender(doc: Doc, letter: LetterContent, type: Typography): number {
  const L = LETTER_LAYOUT_MM;
  const x = L.senderLeft * MM;
  const width = (L.page.width - L.margin.right - L.senderLeft) * MM;
  const labels = LABELS[letter.locale];
  const { sender } = letter;

  doc.font(FONT_REGULAR).fontSize(type.sender);
  doc.text(sender.department, x, L.margin.top * MM, { width, align: 'right' });
  doc.text(sender.name, { width, align: 'right' });
  doc.text(formatPostalCode(sender.postalCode), { width, align: 'right' });
  doc.text(sender.address, { width, align: 'right' });
  doc.font(FONT_BOLD).text(`${labels.phone} ${sender.phone}`, { width, align: 'right' });
  doc.font(FONT_REGULAR);
  if (sender.hours) doc.text(sender.hours, { width, align: 'right' });
  doc.moveDown(0.8);
  doc.fontSize(type.sender + 0.5).text(formatIssuedOn(letter.issuedOn, letter.locale), { width, align: 'right' });
  return doc.y;
}

function drawFooters(doc: Doc, letter: LetterContent, type: Typography, first: number, last: number): void {
  const L = LETTER_LAYOUT_MM;
  const count = last - first + 1;
  const labels = LABELS[letter.locale];
  const left = L.margin.left * MM;
  const width = (L.page.width - L.margin.left - L.margin.right) * MM;
  const y = (L.page.height - L.footerFromBottom) * MM;
  for (let i = first; i <= last; i++) {
    doc.switchToPage(i);
    // The footer sits inside the bottom margin; without this pdfkit would start a new page.
    const bottom = doc.page.margins.bottom;
    doc.page.margins.bottom = 0;
    doc.font(FONT_REGULAR).fontSize(type.footer).fillColor('#000000');
    doc.text(`${i - first + 1} / ${count}`, left, y, { width, align: 'center', lineBreak: false });
    doc.fontSize(type.footer - 1).fillColor('#555555');
    doc.text(`${labels.reference} ${letter.reference}`, left, y, { width, align: 'right', lineBreak: false });
    doc.fillColor('#000000');
    doc.page.margins.bottom = bottom;
  }
}

function drawLetterBody(doc: Doc, letter: LetterContent, type: Typography): void {
  const L = LETTER_LAYOUT_MM;
  drawRecipient(doc, letter, type);
  const senderBottom = drawSender(doc, letter, type);
  const titleTop = Math.max(L.titleTop * MM, senderBottom + 8 * MM);

  const enclosed = letter.enclosed ?? [];
  const titles = [letter.title, ...enclosed.map((e) => e.title)];
  drawScheme(doc, { title: letter.title, body: letter.body, ...(letter.answer ? { answer: letter.answer } : {}) }, letter.locale, type, titleTop, {
    overview: enclosed.length > 0 ? ENCLOSED_LABELS[letter.locale](titles) : null,
  });
  for (const scheme of enclosed) {
    doc.addPage();
    drawScheme(doc, scheme, letter.locale, type, L.margin.top * MM, { overview: null });
  }
}

/**
 * One scheme's part of a letter: its title, its body and its answer block. A merged letter draws the lead
 * scheme under the address and sender (with an overview of what the envelope holds), each further one
 * from the top of a new page.
 */
function drawScheme(
  doc: Doc,
  scheme: { title: string; body: string; answer?: LetterAnswerBlock },
  locale: LetterContent['locale'],
  type: Typography,
  titleTop: number,
  options: { overview: string | null },
): void {
  const L = LETTER_LAYOUT_MM;
  const contentLeft = L.margin.left * MM;
  const contentWidth = (L.page.width - L.margin.left - L.margin.right) * MM;
  doc.font(FONT_BOLD).fontSize(type.title);
  doc.text(scheme.title, contentLeft, titleTop, { width: contentWidth, align: 'center', lineGap: type.title * 0.3 });
  doc.y += 6 * MM;

  doc.font(FONT_REGULAR).fontSize(type.body);
  const lineGap = type.body * (locale === 'ja-easy' ? 0.8 : 0.6);
  if (options.overview) {
    doc.text(options.overview, contentLeft, doc.y, { width: contentWidth, lineGap });
    doc.y += type.body * 0.8;
  }
  for (const paragraph of splitParagraphs(scheme.body)) {
    // Avoid a lone first line (often a heading like 【支給額】) stranded at the foot of a page.
    const lineHeight = doc.currentLineHeight(true) + lineGap;
    const keepTogether = Math.min(doc.heightOfString(paragraph, { width: contentWidth, lineGap }), 2 * lineHeight);
    if (doc.y + keepTogether > doc.page.maxY()) doc.addPage();
    // Single newlines inside a paragraph stay tight (lists, addresses); only blank lines add space.
    doc.text(paragraph, contentLeft, doc.y, { width: contentWidth, lineGap });
    doc.y += type.body * 0.8;
  }
  if (scheme.answer) drawAnswer(doc, scheme.answer, locale, type);
}

/** The overview a merged letter opens with: how many notices the envelope holds, and which. */
const ENCLOSED_LABELS: Readonly<Record<Locale, (titles: readonly string[]) => string>> = {
  ja: (titles) =>
    `この封筒には、${titles.length}件のお知らせが入っています（${titles.join('、')}）。お知らせごとに回答コードがあり、それぞれ別々に回答できます。`,
  en: (titles) => `This envelope holds ${titles.length} notices (${titles.join(', ')}). Each has its own answer code and can be answered separately.`,
  'ja-easy': (titles) => `この ふうとうには、おしらせが ${titles.length}こ 入って います（${titles.join('、')}）。おしらせ ごとに こたえる コードが あります。`,
};

/** The QR code as vector squares (one rectangle per run of dark modules in a row), crisp at any print resolution. */
function drawQrCode(doc: Doc, text: string, x: number, y: number, size: number): void {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  // A quiet zone of 4 modules on every side, as the standard asks; the block around it is white.
  const quiet = 4;
  const module = size / (modules.size + 2 * quiet);
  for (let row = 0; row < modules.size; row++) {
    let col = 0;
    while (col < modules.size) {
      if (!modules.get(row, col)) {
        col++;
        continue;
      }
      const start = col;
      while (col < modules.size && modules.get(row, col)) col++;
      // A hair of overlap keeps rasterisers from leaving white seams between adjacent squares.
      doc.rect(x + (quiet + start) * module, y + (quiet + row) * module, (col - start) * module + 0.05, module + 0.05);
    }
  }
  doc.fillColor('#000000').fill();
}

/**
 * The answer block after the body, kept whole on one page: the QR code of the
 * answer page and, beside it, the code to type and the short address to type it at.
 */
function drawAnswer(doc: Doc, answer: LetterAnswerBlock, locale: LetterContent['locale'], type: Typography): void {
  const L = LETTER_LAYOUT_MM;
  const labels = ANSWER_LABELS[locale];
  const left = L.margin.left * MM;
  const width = (L.page.width - L.margin.left - L.margin.right) * MM;
  const padding = 3 * MM;
  const qr = LETTER_QR_MM * MM;
  const textLeft = left + padding + qr + 4 * MM;
  const textWidth = left + width - padding - textLeft;
  const small = Math.max(11, type.sender);

  const measure = (): number => {
    doc.font(FONT_REGULAR).fontSize(small);
    let h = doc.heightOfString(labels.code, { width: textWidth });
    doc.font(FONT_BOLD).fontSize(type.code);
    h += doc.heightOfString(answer.code, { width: textWidth, characterSpacing: 2 });
    doc.font(FONT_REGULAR).fontSize(small);
    h += doc.heightOfString(`${labels.address}  ${answer.address}`, { width: textWidth });
    h += 2 + doc.heightOfString(labels.how, { width: textWidth });
    return h;
  };
  const height = Math.max(qr, measure()) + 2 * padding;
  if (doc.y + 2 * MM + height > doc.page.maxY()) doc.addPage();
  const top = doc.y + 2 * MM;

  doc.save();
  doc.lineWidth(0.8).strokeColor('#000000').rect(left, top, width, height).stroke();
  doc.restore();
  drawQrCode(doc, answer.url, left + padding, top + (height - qr) / 2, qr);

  doc.fillColor('#000000');
  doc
    .font(FONT_REGULAR)
    .fontSize(small)
    .text(labels.code, textLeft, top + padding, { width: textWidth });
  doc.font(FONT_BOLD).fontSize(type.code).text(answer.code, textLeft, doc.y, { width: textWidth, characterSpacing: 2 });
  doc.font(FONT_REGULAR).fontSize(small).text(`${labels.address}  `, textLeft, doc.y, { width: textWidth, continued: true });
  doc.font(FONT_BOLD).text(answer.address, { width: textWidth });
  doc.y += 2;
  doc.font(FONT_REGULAR).fontSize(small).text(labels.how, textLeft, doc.y, { width: textWidth });
  doc.x = left;
  doc.y = top + height + 4 * MM;
}

/**
 * Draws one whole letter starting on the current (fresh) page: body, then the
 * page numbers of its own pages. Returns the page indexes it covers, so a batch
 * file can tell the printer where each letter starts and ends.
 */
function drawLetter(doc: Doc, letter: LetterContent): { first: number; last: number } {
  parseIsoDate(letter.issuedOn);
  const type = TYPOGRAPHY[letter.locale];
  const before = doc.bufferedPageRange();
  const first = before.start + before.count - 1;
  drawLetterBody(doc, letter, type);
  const after = doc.bufferedPageRange();
  const last = after.start + after.count - 1;
  drawFooters(doc, letter, type, first, last);
  return { first, last };
}

function documentOptions(lang: string, info: PDFKit.DocumentInfo): PDFKit.PDFDocumentOptions {
  const L = LETTER_LAYOUT_MM;
  return {
    size: 'A4',
    layout: 'portrait',
    bufferPages: true,
    autoFirstPage: true,
    lang,
    displayTitle: true,
    margins: {
      top: L.margin.top * MM,
      bottom: L.margin.bottom * MM,
      left: L.margin.left * MM,
      right: L.margin.right * MM,
    },
    info: { Creator: 'Oshirase', Producer: 'Oshirase (PDFKit)', ...info },
  };
}

async function newDocument(lang: string, info: PDFKit.DocumentInfo): Promise<Doc> {
  const fonts = await loadFonts();
  const doc = new PDFDocument(documentOptions(lang, info));
  doc.registerFont(FONT_REGULAR, fonts.regular);
  doc.registerFont(FONT_BOLD, fonts.bold);
  return doc;
}

function collect(doc: Doc): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise<Buffer>((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

/** A rendered letter and its number of pages. */
export interface RenderedLetter {
  pdf: Buffer;
  pages: number;
}

/** Renders a letter as an A4 PDF whose recipient block shows through a 長形3号 window envelope. */
export async function renderLetter(letter: LetterContent): Promise<RenderedLetter> {
  // Fixed dates keep re-renders of the same letter byte-identical (the file ID hashes them too).
  parseIsoDate(letter.issuedOn);
  const issuedAt = tokyoInstant(letter.issuedOn);
  const doc = await newDocument(LABELS[letter.locale].lang, {
    Title: letter.title,
    Author: letter.sender.name,
    Subject: letter.reference,
    CreationDate: issuedAt,
    ModDate: issuedAt,
  });
  const done = collect(doc);
  const { first, last } = drawLetter(doc, letter);
  doc.end();
  return { pdf: await done, pages: last - first + 1 };
}

export async function renderLetterPdf(letter: LetterContent): Promise<Buffer> {
  return (await renderLetter(letter)).pdf;
}

/** Where one letter sits in a batch file: 1-based, inclusive page numbers. */
export interface LetterPageRange {
  reference: string;
  firstPage: number;
  lastPage: number;
}

/**
 * Renders many letters into one PDF for the print run, each starting on a new
 * sheet, streamed to `out` so a large batch never sits in memory. One document
 * embeds each font subset once, which keeps a batch of thousands a few MB.
 * Printing is simplex: a letter's first page is always the front of a sheet.
 */
export async function renderLetterBatchPdf(
  letters: ReadonlyArray<LetterContent>,
  batch: { title: string; printDate: string },
  out: NodeJS.WritableStream,
): Promise<LetterPageRange[]> {
  parseIsoDate(batch.printDate);
  if (letters.length === 0) throw new Error('a print batch needs at least one letter');
  const printedAt = tokyoInstant(batch.printDate);
  const doc = await newDocument('ja-JP', { Title: batch.title, Subject: batch.printDate, CreationDate: printedAt, ModDate: printedAt });
  const finished = new Promise<void>((resolve, reject) => {
    doc.on('error', reject);
    out.on('error', reject);
    out.on('finish', () => resolve());
  });
  doc.pipe(out);
  const ranges: LetterPageRange[] = [];
  for (const letter of letters) {
    if (ranges.length > 0) doc.addPage();
    const { first, last } = drawLetter(doc, letter);
    // A bookmark per letter lets the print operator jump to a reference.
    doc.outline.addItem(letter.reference);
    ranges.push({ reference: letter.reference, firstPage: first + 1, lastPage: last + 1 });
    // Written pages can no longer change; keeping them buffered would hold the whole batch in memory.
    doc.flushPages();
  }
  doc.end();
  await finished;
  return ranges;
}
