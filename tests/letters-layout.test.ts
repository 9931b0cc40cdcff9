/**
 * The envelope window, checked on pixels: page 1 of a rendered letter is
 * rasterised with poppler's pdftoppm, and the recipient block's ink must lie
 * inside the window (clear of its padding, since the sheet shifts in the
 * envelope), with nothing else inked in a ring around it.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { extractText } from 'unpdf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LETTER_LAYOUT_MM, renderLetterPdf, type LetterContent } from '../channels/letter/letter-pdf';
import { letterAnswer } from '../engine/outreach/response-links';

const run = promisify(execFile);
const DPI = 150;
const PX_PER_MM = DPI / 25.4;
/** Darker than this is ink (0 black, 255 white); anti-aliased glyph edges stay lighter. */
const INK = 160;
/** How far around the window nothing may be printed: the sheet shifts a few mm in the envelope. */
const RING_MM = 6;
/** Rasterisation and anti-aliasing smear an edge by up to a pixel or so. */
const TOLERANCE_MM = 0.5;

interface Gray {
  width: number;
  height: number;
  pixels: Uint8Array;
}

/**
 * Decodes the PNG pdftoppm writes into gray levels: 8 bits per channel, gray
 * or RGB (poppler versions differ in what `-gray -png` gives), not interlaced.
 */
function decodePng(png: Buffer): Gray {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[data[9]!] ?? 0;
      if (data[8] !== 8 || channels === 0 || data[12] !== 0)
        throw new Error(`unsupported PNG: depth ${data[8]}, colour type ${data[9]}, interlace ${data[12]}`);
    } else if (type === 'IDAT') {
      idat.push(data);
    }
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const rows = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? rows[y * stride + i - channels]! : 0;
      const b = y > 0 ? rows[(y - 1) * stride + i]! : 0;
      const c = i >= channels && y > 0 ? rows[(y - 1) * stride + i - channels]! : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      rows[y * stride + i] = (line[i]! + predictor) & 0xff;
    }
  }
  // Colour or gray, the darkest channel decides whether a pixel is ink (grey #555 text counts too).
  const pixels = new Uint8Array(width * height);
  const colour = channels >= 3 ? 3 : 1;
  for (let p = 0; p < width * height; p++) {
    let v = 255;
    for (let k = 0; k < colour; k++) v = Math.min(v, rows[p * channels + k]!);
    pixels[p] = v;
  }
  return { width, height, pixels };
}

interface RectMm {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

interface InkReport {
  pixels: number;
  /** Bounding box of the ink, in mm from the page's top left. */
  box: RectMm | null;
}

/** The ink inside `outer` but outside `hole` (when given). */
function ink(image: Gray, outer: RectMm, hole?: RectMm): InkReport {
  const px = (mm: number) => Math.round(mm * PX_PER_MM);
  let pixels = 0;
  let box: RectMm | null = null;
  for (let y = Math.max(0, px(outer.top)); y < Math.min(image.height, px(outer.bottom)); y++) {
    for (let x = Math.max(0, px(outer.left)); x < Math.min(image.width, px(outer.right)); x++) {
      if (image.pixels[y * image.width + x]! >= INK) continue;
      const xm = x / PX_PER_MM;
      const ym = y / PX_PER_MM;
      if (hole && xm >= hole.left && xm < hole.right && ym >= hole.top && ym < hole.bottom) continue;
      pixels++;
      box = box
        ? { left: Math.min(box.left, xm), top: Math.min(box.top, ym), right: Math.max(box.right, xm), bottom: Math.max(box.bottom, ym) }
        : { left: xm, top: ym, right: xm, bottom: ym };
    }
  }
  return { pixels, box };
}

const L = LETTER_LAYOUT_MM;
const WINDOW: RectMm = { left: L.window.left, top: L.window.top, right: L.window.left + L.window.width, bottom: L.window.top + L.window.height };
const inset = (r: RectMm, mm: number): RectMm => ({ left: r.left + mm, top: r.top + mm, right: r.right - mm, bottom: r.bottom - mm });
/** Where the recipient block may print: the window less its padding. */
const SAFE = inset(WINDOW, L.windowPadding - TOLERANCE_MM);
const AROUND = inset(WINDOW, -RING_MM);

const sender: LetterContent['sender'] = {
  name: 'おしらせ市長 山田 太郎',
  department: 'こども家庭部 子育て支援課',
  postalCode: '100-0001',
  address: 'おしらせ市中央1-1-1',
  phone: '03-1234-5678',
  hours: '窓口 平日 8:30〜17:15',
};
/** Every letter carries its answer block (QR code, code, short address), as the send builds it. */
const answer = letterAnswer('https://oshirase.city.example.jp', '4K7-P9M-Q2X');
const body = Array.from(
  { length: 8 },
  () => '　お子さまを養育している方は、児童手当を受け取ることができます。受け取るためには、お住まいの市区町村への申請が必要です。',
).join('\n\n');

const LETTERS: Record<string, LetterContent> = {
  japanese: {
    recipient: { postalCode: '160-0023', address: '東京都新宿区西新宿二丁目8番1号', name: '佐藤 花子 様' },
    sender,
    answer,
    issuedOn: '2026-11-26',
    locale: 'ja',
    title: '児童手当の申請のご案内',
    body,
    reference: 'OSR-00000123',
  },
  'longest address': {
    recipient: {
      postalCode: '100-0005',
      // 80 characters: the longest address validation lets through.
      address: 'おしらせ市丸の内一丁目2番3号 おしらせグランドレジデンス東棟1203号室 株式会社おしらせ商事 総務部気付 御中 おしらせ市丸の内一丁目2番3号'.slice(
        0,
        80,
      ),
      name: '長谷川 美智子 様',
    },
    sender,
    answer,
    issuedOn: '2026-11-26',
    locale: 'ja',
    title: '児童手当の申請のご案内',
    body,
    reference: 'OSR-00000124',
  },
  english: {
    recipient: { postalCode: '105-0011', address: '4-5-6 Shibakoen, Oshirase City', name: 'Ms. Emily Carter' },
    sender,
    answer,
    issuedOn: '2026-11-26',
    locale: 'en',
    title: 'How to apply for the child allowance',
    body: 'You may be eligible for the child allowance.\n\nPlease apply within 15 days.',
    reference: 'OSR-00000125',
  },
  'easy Japanese': {
    recipient: { postalCode: '114-0002', address: 'おしらせ市王子三丁目7番8号', name: 'グエン ティ・ラン 様' },
    sender,
    answer,
    issuedOn: '2026-11-26',
    locale: 'ja-easy',
    title: 'こどもの ための おかね（児童手当）の もうしこみ',
    body: '赤（あか）ちゃんが 生（う）まれました。',
    reference: 'OSR-00000126',
  },
};

let workDir = '';
let pdftoppm: string | null = null;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'oshirase-layout-'));
  pdftoppm = await run('which', ['pdftoppm']).then(
    (r) => r.stdout.trim() || null,
    () => null,
  );
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

async function rasterizeFirstPage(pdf: Buffer, name: string): Promise<Gray> {
  if (!pdftoppm) {
    throw new Error(
      'pdftoppm is not installed: this test rasterises letters with poppler-utils. Install it with `bash dev/scripts/ensure-test-tools.sh` (apt-get install -y poppler-utils).',
    );
  }
  const base = join(workDir, name.replace(/\W+/g, '-'));
  await writeFile(`${base}.pdf`, pdf);
  await run(pdftoppm, ['-png', '-gray', '-r', String(DPI), '-f', '1', '-l', '1', '-singlefile', `${base}.pdf`, base]);
  // Keep the images to look at: LETTERS_LAYOUT_PNG_DIR=/some/dir npx vitest run tests/letters-layout.test.ts
  const keep = process.env.LETTERS_LAYOUT_PNG_DIR;
  if (keep) {
    await mkdir(keep, { recursive: true });
    await copyFile(`${base}.png`, join(keep, `${name.replace(/\W+/g, '-')}.png`));
  }
  return decodePng(await readFile(`${base}.png`));
}

describe('the recipient block and the envelope window', () => {
  for (const [name, letter] of Object.entries(LETTERS)) {
    it(`${name}: the address shows through the window and nothing else is near it`, async () => {
      const pdf = await renderLetterPdf(letter);
      const image = await rasterizeFirstPage(pdf, name);
      // A4 at DPI (pdftoppm rounds the page size up to whole pixels).
      expect(Math.abs(image.width - 210 * PX_PER_MM)).toBeLessThan(2);
      expect(Math.abs(image.height - 297 * PX_PER_MM)).toBeLessThan(2);

      const inWindow = ink(image, WINDOW);
      // Postal code, address and name: a good deal of ink, not a stray dot.
      expect(inWindow.pixels).toBeGreaterThan(1500);
      const box = inWindow.box!;
      expect(box.left, 'left edge of the recipient block').toBeGreaterThanOrEqual(SAFE.left);
      expect(box.top, 'top edge of the recipient block').toBeGreaterThanOrEqual(SAFE.top);
      expect(box.right, 'right edge of the recipient block').toBeLessThanOrEqual(SAFE.right);
      expect(box.bottom, 'bottom edge of the recipient block').toBeLessThanOrEqual(SAFE.bottom);

      // The ring around the window: would show through when the sheet shifts, so must stay blank.
      const ring = ink(image, AROUND, WINDOW);
      expect(ring, `ink in the ${RING_MM} mm ring around the window`).toEqual({ pixels: 0, box: null });

      // And the rest of the page does have ink (sender, title, body): the check above is not vacuous.
      expect(ink(image, { left: 0, top: AROUND.bottom, right: 210, bottom: 297 }).pixels).toBeGreaterThan(5000);

      // The text is real text in a Japanese-capable font, as a screen reader or a search would find it.
      const { text } = await extractText(new Uint8Array(pdf), { mergePages: false });
      const first = (text[0] ?? '').replace(/\s+/g, '');
      expect(first).toContain(`〒${letter.recipient.postalCode}`);
      expect(first).toContain(letter.recipient.address.replace(/\s+/g, ''));
      expect(first).toContain(letter.recipient.name.replace(/\s+/g, ''));
      expect(first).toContain(letter.title.replace(/\s+/g, ''));
    });
  }

  it('shrinks a long address into the window rather than letting it spill', async () => {
    const regular = ink(await rasterizeFirstPage(await renderLetterPdf(LETTERS.japanese!), 'regular-size'), WINDOW).box!;
    const long = ink(await rasterizeFirstPage(await renderLetterPdf(LETTERS['longest address']!), 'long-size'), WINDOW).box!;
    // More lines, yet still inside: the long block is taller but bounded by the safe area (checked above).
    expect(long.bottom - long.top).toBeGreaterThan(regular.bottom - regular.top);
    expect(long.bottom).toBeLessThanOrEqual(SAFE.bottom);
  });

  it('prints the QR code of the answer page at least 20 mm wide, in its block below the window', async () => {
    const letter: LetterContent = { ...LETTERS.japanese!, body: '本文。' };
    const image = await rasterizeFirstPage(await renderLetterPdf(letter), 'qr-size');
    // The QR code's column of the answer block: right of the margin, left of the block's text.
    const column = { left: L.margin.left + 1, right: L.margin.left + 33 };
    const px = (mm: number) => Math.round(mm * PX_PER_MM);
    // The block's frame: the rows of the column inked from edge to edge.
    const frameRows: number[] = [];
    for (let y = 0; y < image.height; y++) {
      let inked = 0;
      for (let x = px(column.left); x < px(column.right); x++) if (image.pixels[y * image.width + x]! < INK) inked++;
      if (inked > 0.9 * (px(column.right) - px(column.left))) frameRows.push(y / PX_PER_MM);
    }
    expect(frameRows.length, 'the answer block has a frame').toBeGreaterThan(1);
    const top = Math.min(...frameRows);
    const bottom = Math.max(...frameRows);
    expect(top, 'the answer block is below the window and its ring').toBeGreaterThan(AROUND.bottom);
    const qr = ink(image, { ...column, top: top + 1, bottom: bottom - 1 }).box!;
    expect(qr.right - qr.left, 'QR code width').toBeGreaterThanOrEqual(20);
    expect(qr.bottom - qr.top, 'QR code height').toBeGreaterThanOrEqual(20);
  });
});
