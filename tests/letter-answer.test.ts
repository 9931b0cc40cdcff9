/**
 * A letter a resident can act on, end to end: the letter step of an outreach
 * queues a real letter (the activity as the worker runs it), its page 1 is
 * rasterised with pdftoppm and its QR code read with zbarimg, as a phone
 * would; following the QR code opens that outreach's answer page and changes
 * nothing. The text (pdftotext) holds the code with its check symbol and no
 * URL longer than 40 characters; a code with one character changed is
 * refused by its check symbol.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDeliverNotice } from '../activities/deliver-notice';
import { LETTER_ADDRESS_MAX, letterAddressProblem, readLetterCode } from '../engine/outreach/response-links';
import { respondRoutes } from '../service/respond-routes';
import { outreachRow } from './support/rows';
import { TestEngine } from './support/test-engine';
import { startTestService, type TestService } from './support/test-service';

const run = promisify(execFile);
const MS_PER_DAY = 60_000;

let engine: TestEngine;
let svc: TestService;
let workDir = '';

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
  svc = await startTestService(engine, { msPerDay: MS_PER_DAY, publicRoutes: [respondRoutes] });
  workDir = await mkdtemp(join(tmpdir(), 'oshirase-letter-answer-'));
}, 60_000);

afterAll(async () => {
  await svc?.close();
  await engine?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function tool(name: string, install: string): Promise<string> {
  const found = await run('which', [name]).then(
    (r) => r.stdout.trim(),
    () => '',
  );
  if (!found) throw new Error(`${name} is not installed: this test needs it. Install it with \`bash ${install}\`.`);
  return found;
}

/** An outreach of child-allowance at its letter step, for a resident with a postal address only; the letter queued by the real activity. */
async function sendLetter(): Promise<{ outreachId: string; pdfPath: string }> {
  const resident = await engine.addResident({ consents: ['child-benefits'], email: false });
  const outreachId = `letter-answer:${resident.id}:${randomUUID().slice(0, 8)}`;
  await engine.db.insertInto('outreach').values(outreachRow(outreachId, resident.id)).execute();
  const deliverNotice = makeDeliverNotice(engine.activityDeps().deps);
  const result = await deliverNotice({
    outreachId,
    residentId: resident.id,
    ruleId: 'child-allowance',
    ruleVersion: 2,
    stepIndex: 4,
    channel: 'letter',
    msPerDay: MS_PER_DAY,
    scheduledDay: 0,
  });
  expect(result.outcome).toBe('sent');
  const [ledger] = await engine.ledger(outreachId);
  return { outreachId, pdfPath: (ledger!.detail as { pdfPath: string }).pdfPath };
}

/** Text runs of printable ASCII with a "/" in them: whatever could be read as an address (Japanese text around one ends it). */
function printedAddresses(text: string): string[] {
  return text.replace(/\s+/g, '').match(/[!-~]*\/[!-~]*/g) ?? [];
}

describe('a letter residents can act on', () => {
  it('prints a QR code of its answer page, the code with its check symbol and no URL over 40 characters; the QR code opens that outreach and changes nothing', async () => {
    const [pdftoppm, pdftotext, zbarimg] = [
      await tool('pdftoppm', 'dev/scripts/ensure-test-tools.sh'),
      await tool('pdftotext', 'dev/scripts/ensure-test-tools.sh'),
      await tool('zbarimg', 'dev/scripts/ensure-test-tools.sh'),
    ];
    const { outreachId, pdfPath } = await sendLetter();
    const pdf = join(workDir, 'letter.pdf');
    await writeFile(pdf, await readFile(pdfPath));

    // The QR code, as a phone reads it from the printed pages (300 dpi, gray): on the page where the text ends.
    await run(pdftoppm, ['-png', '-gray', '-r', '300', pdf, join(workDir, 'page')]);
    const pages = (await readdir(workDir)).filter((f) => /^page-\d+\.png$/.test(f)).sort();
    const scanned: string[] = [];
    for (const page of pages) {
      // zbarimg exits 4 when a page holds no code: only the pages that hold one count.
      const read = await run(zbarimg, ['--raw', '-q', join(workDir, page)]).catch(() => null);
      if (read) scanned.push(...read.stdout.trim().split('\n').filter(Boolean));
    }
    expect(scanned).toHaveLength(1);
    const qrUrl = scanned[0]!;
    const base = engine.context.config.publicBaseUrl;
    expect(qrUrl.startsWith(`${base}/r/`)).toBe(true);
    const codeInQr = qrUrl.slice(`${base}/r/`.length);

    // The text: the code printed with its check symbol is the one in the QR code, and it stands for this outreach.
    const text = (await run(pdftotext, ['-enc', 'UTF-8', pdf, '-'])).stdout;
    const codes = [...new Set(text.match(/\b[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}\b/g) ?? [])];
    expect(codes).toEqual([codeInQr]);
    const code = codes[0]!;
    expect(readLetterCode(code)).toMatchObject({ ok: true, form: 'current' });
    expect(await engine.context.links.resolve(code)).toEqual({ outreachId, kind: 'acknowledged', state: 'valid' });

    // Every address printed is short enough to type, and the answer address is among them.
    const addresses = printedAddresses(text);
    expect(addresses.some((a) => a.endsWith(`/r/${code}`))).toBe(true);
    for (const address of addresses) expect(address.length, address).toBeLessThanOrEqual(LETTER_ADDRESS_MAX);
    expect(letterAddressProblem(base)).toBeNull();

    // Following the QR code (on this test's service, whose port differs from PUBLIC_BASE_URL's) shows this outreach's answer page.
    const path = new URL(qrUrl).pathname;
    const page = await fetch(`${svc.service.publicUrl}${path}`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('児童手当の申請のご案内');
    expect(html).toContain('<form method="post">');
    const json = await fetch(`${svc.service.publicUrl}${path}`, { headers: { accept: 'application/json' } });
    expect(await json.json()).toEqual({ title: '児童手当の申請のご案内', kind: 'acknowledged', state: 'active', response: null });

    // The short path asks for the code and leads to the same page; typed as a resident may type it.
    const entry = await fetch(`${svc.service.publicUrl}/r`);
    expect(entry.status).toBe(200);
    expect(await entry.text()).toContain('name="code"');
    const typed = code.replaceAll('-', '').toLowerCase();
    const redirect = await fetch(`${svc.service.publicUrl}/r?code=${encodeURIComponent(` ${typed} `)}`, { redirect: 'manual' });
    expect(redirect.status).toBe(303);
    expect(redirect.headers.get('location')).toBe(`/r/${code}`);

    // Looking changed nothing: the outreach is still open, no answer, no link used.
    const outreach = await engine.db.selectFrom('outreach').select(['status', 'response']).where('id', '=', outreachId).executeTakeFirstOrThrow();
    expect(outreach).toEqual({ status: 'active', response: null });
    const used = await engine.db
      .selectFrom('response_tokens')
      .select('used_at')
      .where('outreach_id', '=', outreachId)
      .where('used_at', 'is not', null)
      .execute();
    expect(used).toEqual([]);
  });

  it('refuses a code with one character changed by its check symbol, with a page that says so', async () => {
    const { code } = await engine.context.links.issueLetterCode(await newOutreachId());
    const plain = code.replaceAll('-', '');
    for (const position of [0, 4, 8]) {
      const other = plain[position] === 'Z' ? 'Y' : 'Z';
      const changed = plain.slice(0, position) + other + plain.slice(position + 1);
      expect(readLetterCode(changed), changed).toEqual({ ok: false, problem: 'check' });

      const page = await fetch(`${svc.service.publicUrl}/r/${changed}`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(400);
      expect(await page.text()).toContain('この回答コードは正しくありません');
      const json = await fetch(`${svc.service.publicUrl}/r/${changed}`, { method: 'POST', headers: { accept: 'application/json' } });
      expect(json.status).toBe(400);
      expect(await json.json()).toEqual({ error: 'invalid letter code', problems: [expect.stringContaining('check symbol')] });
      const typed = await fetch(`${svc.service.publicUrl}/r?code=${changed}`, { redirect: 'manual', headers: { accept: 'text/html' } });
      expect(typed.status).toBe(400);
    }
    // The code itself opens its page.
    expect((await fetch(`${svc.service.publicUrl}/r/${code}`)).status).toBe(200);
  });
});

async function newOutreachId(): Promise<string> {
  const resident = await engine.addResident({ consents: ['child-benefits'], email: false });
  const outreachId = `letter-answer:${resident.id}:${randomUUID().slice(0, 8)}`;
  await engine.db.insertInto('outreach').values(outreachRow(outreachId, resident.id)).execute();
  return outreachId;
}
