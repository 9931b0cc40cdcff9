/**
 * `oshirase templates preview`: what one resident would receive, rendered from
 * the database, written as the channel carries it, with links that point at a
 * supposed outreach and so can never answer for the resident.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { extractText, getDocumentProxy } from 'unpdf';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { templatesPreview } from '../cli/template-commands';
import type { CommandContext } from '../cli/command-context';
import { UsageError } from '../cli/cli-support';
import { loadEngineConfig } from '../config/engine-config';
import { addResident } from '../engine/register/residents';
import { UnknownResidentError } from '../engine/rule-language/explain-resident';
import { openEngineContext, type EngineContext } from '../runtime/engine-context';
import { outreachIdFor } from '../engine/outreach/outreach-ids';
import { capturingContext } from './support/command-context';

let engine: EngineContext;
const outDir = mkdtempSync(join(tmpdir(), 'oshirase-preview-'));
const dataDir = mkdtempSync(join(tmpdir(), 'oshirase-preview-data-'));
const tag = randomUUID().slice(0, 8);
const residentId = `P-${tag}`;

beforeAll(async () => {
  engine = await openEngineContext({ config: loadEngineConfig({ DATABASE_URL: inject('databaseUrl'), OSHIRASE_DATA_DIR: dataDir }) });
  await addResident(
    engine.database.db,
    {
      id: residentId,
      household_id: `H-${tag}`,
      family_name: '山田',
      given_name: '花子',
      birth_date: '1994-07-13',
      locale: 'ja',
      email: `hanako.${tag}@residents.example`,
      email_status: 'valid',
      postal_code: '1000005',
      address: `おしらせ市丸の内${tag}番地`,
      ward: 'chuo',
      residence_status: 'registered',
    },
    ['child-benefits'],
  );
});
afterAll(async () => {
  await engine?.close();
  rmSync(outDir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

/** What the command prints and its errors, in one list as a terminal shows them. */
function contextFor(): { ctx: CommandContext; out: string[] } {
  const captured = capturingContext({ actor: 'test', engine: async () => engine, what: 'a preview' });
  const ctx: CommandContext = { ...captured.ctx, err: (text) => void captured.out.push(text) };
  return { ctx, out: captured.out };
}

const pathsIn = (out: string[]) => out.filter((l) => l.startsWith('  ') && !l.startsWith('  note') && !l.startsWith('  links')).map((l) => l.trim());

describe('oshirase templates preview', () => {
  it('writes the email as .html, .txt and .eml, for the resident, with links to a supposed outreach', async () => {
    const { ctx, out } = contextFor();
    const code = await templatesPreview(['child-allowance', '--resident', residentId, '--channel', 'email', '--date', '2026-11-20', '--out', outDir], ctx);
    expect(code, out.join('\n')).toBe(0);
    const paths = pathsIn(out);
    expect(paths.map((p) => p.replace(/^.*\./, '.'))).toEqual(['.html', '.txt', '.eml']);
    for (const p of paths) expect(existsSync(p), p).toBe(true);
    const html = readFileSync(paths[0]!, 'utf8');
    const text = readFileSync(paths[1]!, 'utf8');
    expect(html).toContain('<html lang="ja">');
    expect(html).toContain('山田 花子 様');
    expect(text).toContain('2026年12月5日までに申請');

    // The links look like real ones but are stored nowhere: they open nothing.
    const token = /\/respond\/([A-Za-z0-9_.-]+)/.exec(text)![1]!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await engine.links.resolve(token)).toBeNull();
    const stored = await engine.database.db
      .selectFrom('response_tokens')
      .select('token_hash')
      .where('outreach_id', '=', outreachIdFor(engine.outreachIdKey, 'child-allowance', residentId, 'preview-2026-11-20'))
      .execute();
    expect(stored).toEqual([]);
    expect(out.join('\n')).toContain('they do nothing');

    const mail = await simpleParser(readFileSync(paths[2]!));
    expect(mail.subject).toBe('【おしらせ市】児童手当の申請のご案内');
    expect(mail.headers.get('content-language')).toBe('ja');
    expect(mail.text?.trim()).toBe(text.trim());
  });

  it('renders in another locale on request, and writes push as JSON with its delivery settings', async () => {
    const { ctx, out } = contextFor();
    expect(
      await templatesPreview(
        ['child-allowance', '--resident', residentId, '--channel', 'push', '--locale', 'en', '--date', '2026-11-20', '--out', outDir],
        ctx,
      ),
    ).toBe(0);
    const [path] = pathsIn(out);
    expect(path).toMatch(/child-allowance\.P-[0-9a-f]+\.en\.push\.json$/);
    const json = JSON.parse(readFileSync(path!, 'utf8')) as {
      payload: Record<string, string>;
      delivery: { ttlSeconds: number; urgency: string; topic: string };
    };
    expect(json.payload.title).toBe('How to apply for the child allowance');
    expect(json.payload.body).toContain('5 December 2026');
    expect(json.payload.url).toMatch(/\/respond\//);
    expect(json.delivery.ttlSeconds).toBeGreaterThan(0);
    expect(['very-low', 'low', 'normal', 'high']).toContain(json.delivery.urgency);
  });

  it('writes the letter as a PDF addressed to the resident', async () => {
    const { ctx, out } = contextFor();
    expect(await templatesPreview(['child-allowance', '--resident', residentId, '--channel', 'letter', '--date', '2026-11-20', '--out', outDir], ctx)).toBe(0);
    const [path] = pathsIn(out);
    const pdf = readFileSync(path!);
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const { text } = await extractText(await getDocumentProxy(new Uint8Array(pdf)), { mergePages: true });
    const flat = text.replace(/\s+/g, '');
    expect(flat).toContain('山田花子様');
    expect(flat).toContain('児童手当の申請のご案内');
  });

  it('says clearly when the rule, the resident or an option is wrong', async () => {
    const { ctx } = contextFor();
    await expect(templatesPreview(['no-such-rule', '--resident', residentId, '--channel', 'email'], ctx)).rejects.toThrow(UsageError);
    await expect(templatesPreview(['child-allowance', '--resident', 'NOBODY', '--channel', 'email', '--out', outDir], ctx)).rejects.toThrow(
      UnknownResidentError,
    );
    await expect(templatesPreview(['child-allowance', '--resident', residentId, '--channel', 'fax'], ctx)).rejects.toThrow(
      /--channel must be email, push or letter/,
    );
    await expect(templatesPreview(['child-allowance', '--resident', residentId, '--channel', 'email', '--locale', 'fr'], ctx)).rejects.toThrow(
      /--locale must be one of/,
    );
  });
});
