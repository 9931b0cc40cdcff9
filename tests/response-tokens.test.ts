import { createHmac, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEngineConfig } from '../config/engine-config';
import { generateVapidKeys } from '../channels/push/web-push';
import { openEngineContext } from '../runtime/engine-context';
import {
  issueResponseTokens,
  letterAnswerAddress,
  loadLinkKeys,
  newLinkKeys,
  normalizeLetterCode,
  parseLinkKeys,
  readLetterCode,
  resolveResponseToken,
} from '../engine/outreach/response-links';
import { TestEngine } from './support/test-engine';
import { outreachRow, residentRow } from './support/rows';

let engine: TestEngine;

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
}, 60_000);

afterAll(async () => {
  await engine?.stop();
});

/** An outreach row as the workflow records it; no workflow is needed to look links up. */
async function newOutreach(): Promise<string> {
  const resident = await engine.addResident({ consents: ['child-allowance'] });
  const id = `outreach:child-allowance:${resident.id}:${randomUUID()}`;
  await engine.db
    .insertInto('outreach')
    .values({ id, rule_id: 'child-allowance', rule_version: 2, resident_id: resident.id, occurrence_key: randomUUID(), status: 'active', response: null })
    .execute();
  return id;
}

/** Ends the outreach `days` days ago, as if the clock had moved on. */
async function endedDaysAgo(outreachId: string, days: number): Promise<void> {
  await sql`update outreach set status = 'no-response', ended_at = now() - make_interval(days => ${days}) where id = ${outreachId}`.execute(engine.db);
}

const tokenOf = (url: string) => url.split('/respond/')[1]!;

describe('response tokens', () => {
  it('are random, 256-bit base64url, new at every issue, and all of them stay valid', async () => {
    const outreachId = await newOutreach();
    const first = await engine.context.links.issueTokens(outreachId);
    const second = await engine.context.links.issueTokens(outreachId);
    for (const token of [...Object.values(first), ...Object.values(second)]) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set([...Object.values(first), ...Object.values(second)]).size).toBe(8);
    expect(await engine.context.links.resolve(first.applied)).toEqual({ outreachId, kind: 'applied', state: 'valid' });
    expect(await engine.context.links.resolve(second.applied)).toEqual({ outreachId, kind: 'applied', state: 'valid' });
    expect(await engine.context.links.resolve(first.stop)).toEqual({ outreachId, kind: 'stop', state: 'valid' });
  });

  it('are kept only as keyed hashes: neither a token nor a code nor a key is anywhere in the database', async () => {
    const outreachId = await newOutreach();
    const links = await engine.context.links.forNotice(outreachId, 'email');
    const letter = await engine.context.links.forNotice(outreachId, 'letter');
    const raw = [links.apply, links.acknowledge, links.notForMe, links.stop].map(tokenOf);
    const rows = await engine.db.selectFrom('response_tokens').selectAll().where('outreach_id', '=', outreachId).execute();
    expect(rows).toHaveLength(5);
    expect(rows.map((r) => r.form).sort()).toEqual(['code', 'link', 'link', 'link', 'link']);
    const settings = await engine.db.selectFrom('engine_settings').selectAll().execute();
    const dump = JSON.stringify({ rows, settings });
    for (const token of raw) expect(dump).not.toContain(token);
    expect(dump).not.toContain(letter.code);
    expect(dump).not.toContain(letter.code.replaceAll('-', ''));

    // The secrets are in files of the data folder that only this user may read.
    const secrets = join(engine.context.config.dataDir, 'secrets');
    expect(statSync(secrets).mode & 0o777).toBe(0o700);
    const keyFile = join(secrets, 'response_link_keys');
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyFile, 'utf8').trim().split(':')[1]!;
    expect(dump).not.toContain(key);
    expect(dump).not.toContain(engine.context.vapid.privateKey);
    expect(settings.map((s) => s.key)).not.toContain('response-link-secret');
    expect(settings.map((s) => s.key)).not.toContain('vapid-keys');
  });

  it('refuses a forged token, one with trailing text, a cut one and one made under another key, without telling them apart', async () => {
    const outreachId = await newOutreach();
    const genuine = (await engine.context.links.issueTokens(outreachId)).applied;
    const otherKey = parseLinkKeys(newLinkKeys('elsewhere'));
    const foreign = (await issueResponseTokens(engine.db, otherKey, outreachId)).applied;
    const flipped = `${genuine.slice(0, -1)}${genuine.endsWith('A') ? 'B' : 'A'}`;
    for (const token of [
      foreign,
      flipped,
      `${genuine}x`,
      `${genuine}.trailing`,
      `${genuine} `,
      genuine.slice(0, 42),
      '',
      'not-a-token',
      `${'A'.repeat(43)}`,
      '../etc/passwd',
    ]) {
      expect(await engine.context.links.resolve(token), JSON.stringify(token)).toBeNull();
    }
    // The earlier signed format, forged with a guessed key, finds nothing either.
    const body = Buffer.from(JSON.stringify({ o: outreachId, k: 'applied' })).toString('base64url');
    expect(await engine.context.links.resolve(`${body}.${createHmac('sha256', 'guessed').update(body).digest('base64url')}`)).toBeNull();
    expect(await engine.context.links.resolve(genuine)).toMatchObject({ state: 'valid' });
  });

  it('stay valid while the outreach runs and for the grace after it ended, then expire', async () => {
    expect(engine.context.links.graceDays).toBe(30);
    const within = await newOutreach();
    const withinToken = (await engine.context.links.issueTokens(within)).acknowledged;
    await endedDaysAgo(within, 29);
    expect(await engine.context.links.resolve(withinToken)).toEqual({ outreachId: within, kind: 'acknowledged', state: 'valid' });

    const past = await newOutreach();
    const pastTokens = await engine.context.links.issueTokens(past);
    const { code } = await engine.context.links.issueLetterCode(past);
    await endedDaysAgo(past, 31);
    expect(await engine.context.links.resolve(pastTokens.applied)).toEqual({ outreachId: past, kind: 'applied', state: 'expired' });
    expect(await engine.context.links.resolve(code)).toMatchObject({ state: 'expired' });
  });

  it('are answered once: after an answer through one link, every link of the outreach shows it', async () => {
    const outreachId = await newOutreach();
    const tokens = await engine.context.links.issueTokens(outreachId);
    const later = await engine.context.links.issueTokens(outreachId);
    const { code } = await engine.context.links.issueLetterCode(outreachId);
    await engine.context.links.markUsed(tokens.applied);
    const used = await engine.db
      .selectFrom('response_tokens')
      .select(['form', 'used_at'])
      .where('outreach_id', '=', outreachId)
      .where('used_at', 'is not', null)
      .execute();
    expect(used).toHaveLength(1);
    for (const token of [...Object.values(tokens), ...Object.values(later), code]) {
      expect(await engine.context.links.resolve(token)).toMatchObject({ outreachId, state: 'answered' });
    }

    // An answer recorded on the outreach by another way (the counter, a caseworker) counts the same.
    const elsewhere = await newOutreach();
    const token = (await engine.context.links.issueTokens(elsewhere)).stop;
    await engine.db.updateTable('outreach').set({ status: 'responded', response: 'applied', ended_at: new Date() }).where('id', '=', elsewhere).execute();
    expect(await engine.context.links.resolve(token)).toEqual({ outreachId: elsewhere, kind: 'stop', state: 'answered' });
  });

  it('survive a key rotation: issued under A, found with [B, A], not with [B] alone', async () => {
    const outreachId = await newOutreach();
    const a = parseLinkKeys(newLinkKeys('a'))[0];
    const b = parseLinkKeys(newLinkKeys('b'))[0];
    const token = (await issueResponseTokens(engine.db, [a], outreachId)).applied;
    expect(await resolveResponseToken(engine.db, [a], token)).toEqual({ outreachId, kind: 'applied', state: 'valid' });
    expect(await resolveResponseToken(engine.db, [b, a], token)).toEqual({ outreachId, kind: 'applied', state: 'valid' });
    expect(await resolveResponseToken(engine.db, [b], token)).toBeNull();
    // New tokens after the rotation are made under B.
    const fresh = (await issueResponseTokens(engine.db, [b, a], outreachId)).applied;
    const keyIds = await engine.db.selectFrom('response_tokens').select('key_id').where('outreach_id', '=', outreachId).execute();
    expect(new Set(keyIds.map((k) => k.key_id))).toEqual(new Set(['a', 'b']));
    expect(await resolveResponseToken(engine.db, [b], fresh)).toMatchObject({ state: 'valid' });
  });
});

describe('letter codes', () => {
  it('are 8 unambiguous characters and a check symbol grouped XXX-XXX-XXX, printed with a short address', async () => {
    const outreachId = await newOutreach();
    const links = await engine.context.links.forNotice(outreachId, 'letter');
    expect(links.code).toMatch(/^[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}-[0-9A-HJKMNP-TV-Z]{3}$/);
    const short = letterAnswerAddress(engine.context.config.publicBaseUrl, links.code);
    expect(short.length).toBeLessThanOrEqual(40);
    expect(links).toEqual({ open: short, apply: short, acknowledge: short, notForMe: short, stop: short, code: links.code });
    const other = await engine.context.links.issueLetterCode(outreachId);
    expect(other.code).not.toBe(links.code);
    expect(other.url).toBe(`${engine.context.config.publicBaseUrl}/r/${other.code}`);
  });

  it('resolve as a resident types them: lower case, spaces, hyphens, full-width, O for 0 and I or L for 1', async () => {
    const outreachId = await newOutreach();
    const { code } = await engine.context.links.issueLetterCode(outreachId);
    const plain = code.replaceAll('-', '');
    const typed = [
      code,
      plain,
      plain.toLowerCase(),
      `${plain.slice(0, 4).toLowerCase()} ${plain.slice(4, 7)} ${plain.slice(7).toLowerCase()}`,
      ` ${code.toLowerCase()} `,
      plain.replace(/[0-9A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0)),
      plain.replaceAll('0', 'o').replaceAll('1', 'l'),
    ];
    for (const t of typed) expect(await engine.context.links.resolve(t), t).toEqual({ outreachId, kind: 'acknowledged', state: 'valid' });
    // One character off, one too few or too many, a letter outside the alphabet: nothing.
    const changed = plain.replace(/^./, (c) => (c === 'Z' ? 'Y' : 'Z'));
    for (const t of [changed, plain.slice(0, 8), `${plain}A`, `${plain.slice(0, 8)}U`]) expect(await engine.context.links.resolve(t), t).toBeNull();
  });

  it('refuse a mistyped code by its check symbol, before any lookup: every single wrong character and every swap', () => {
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    for (const code of ['4K7P9MQ2', '00000000', 'ZZZZZZZZ', 'A1B2C3D4']) {
      // The check symbol of these eight: the one that makes the code read.
      const valid = [...alphabet].map((c) => code + c).filter((c) => readLetterCode(c).ok);
      expect(valid, code).toHaveLength(1);
      const full = valid[0]!;
      for (let i = 0; i < full.length; i++) {
        for (const c of alphabet) {
          if (c === full[i]) continue;
          const typo = full.slice(0, i) + c + full.slice(i + 1);
          expect(readLetterCode(typo), typo).toEqual({ ok: false, problem: 'check' });
        }
        for (let j = i + 1; j < full.length; j++) {
          if (full[i] === full[j]) continue;
          const chars = [...full];
          [chars[i], chars[j]] = [chars[j]!, chars[i]!];
          expect(readLetterCode(chars.join('')), chars.join('')).toEqual({ ok: false, problem: 'check' });
        }
      }
    }
    expect(readLetterCode('abc')).toEqual({ ok: false, problem: 'shape' });
    expect(normalizeLetterCode('abcd-efgh-ju')).toBeNull();
  });

  it('of letters printed before the check symbol (10 characters, XXXX-XXXX-XX) still work', async () => {
    const outreachId = await newOutreach();
    const keys = parseLinkKeys(newLinkKeys('earlier'));
    // Stored as the earlier version stored them: HMAC of "code:<10 characters>".
    const old = 'ABCDEFGHJK'.replace(/./g, () => '0123456789ABCDEFGHJKMNPQRSTVWXYZ'[Math.floor(Math.random() * 32)]!);
    await engine.db
      .insertInto('response_tokens')
      .values({
        token_hash: createHmac('sha256', keys[0].key).update(`code:${old}`).digest('base64url'),
        key_id: 'earlier',
        outreach_id: outreachId,
        kind: 'acknowledged',
        form: 'code',
      })
      .execute();
    const printed = `${old.slice(0, 4)}-${old.slice(4, 8)}-${old.slice(8)}`;
    expect(readLetterCode(printed)).toEqual({ ok: true, code: old, form: 'earlier' });
    for (const t of [printed, printed.toLowerCase(), old])
      expect(await resolveResponseToken(engine.db, keys, t), t).toEqual({ outreachId, kind: 'acknowledged', state: 'valid' });
  });
});

describe('an installation that kept its secrets in engine_settings', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('moves them out on start: the VAPID private key to a file (same public key), the old links carried over as hashes', async () => {
    // Its own embedded database, so no other engine of the suite starts on these rows.
    const pgliteDir = mkdtempSync(join(tmpdir(), 'oshirase-upgrade-db-'));
    const before = mkdtempSync(join(tmpdir(), 'oshirase-upgrade-a-'));
    const after = mkdtempSync(join(tmpdir(), 'oshirase-upgrade-b-'));
    dirs.push(pgliteDir, before, after);
    const warnings: string[] = [];
    const first = await openEngineContext({ config: loadEngineConfig({ OSHIRASE_DATA_DIR: before }), pgliteDir, env: {}, warn: (m) => warnings.push(m) });
    const legacyVapid = generateVapidKeys('mailto:notices@city.example.jp');
    const legacySecret = 'a-link-secret-the-earlier-version-kept-in-clear';
    const outreachId = `outreach:child-allowance:R-UPGRADE:${randomUUID()}`;
    try {
      const db = first.database.db;
      await db
        .insertInto('engine_settings')
        .values([
          { key: 'vapid-keys', value: JSON.stringify(legacyVapid) },
          { key: 'response-link-secret', value: JSON.stringify(legacySecret) },
        ])
        .execute();
      await db
        .insertInto('residents')
        .values(residentRow('R-UPGRADE', { given_name: '花子', birth_date: '1994-07-13' }))
        .execute();
      await db
        .insertInto('outreach')
        .values(outreachRow(outreachId, 'R-UPGRADE', { occurrence_key: 'upgrade' }))
        .execute();
    } finally {
      await first.close();
    }
    expect(warnings.join('\n')).toMatch(/RESPONSE_LINK_KEYS is not set: .*Production must set RESPONSE_LINK_KEYS or RESPONSE_LINK_KEYS_FILE/);

    // The upgraded version starts: no secret files yet in its data folder, as after an upgrade.
    const upgraded = await openEngineContext({ config: loadEngineConfig({ OSHIRASE_DATA_DIR: after }), pgliteDir, env: {}, warn: () => {} });
    try {
      const settings = await upgraded.database.db.selectFrom('engine_settings').selectAll().execute();
      expect(settings.map((s) => s.key)).not.toContain('vapid-keys');
      expect(settings.map((s) => s.key)).not.toContain('response-link-secret');
      const dump = JSON.stringify(settings);
      expect(dump).not.toContain(legacyVapid.privateKey);
      expect(dump).not.toContain(legacySecret);

      expect(upgraded.vapid.publicKey).toBe(legacyVapid.publicKey);
      expect(upgraded.vapid.privateKey).toBe(legacyVapid.privateKey);
      const vapidFile = join(after, 'secrets', 'vapid_private_key');
      expect(statSync(vapidFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(vapidFile, 'utf8').trim()).toBe(legacyVapid.privateKey);

      // A link of the earlier format, already in a resident's mailbox, still opens; a forged one does not.
      const body = Buffer.from(JSON.stringify({ o: outreachId, k: 'applied' })).toString('base64url');
      const legacyToken = `${body}.${createHmac('sha256', legacySecret).update(body).digest('base64url')}`;
      expect(await upgraded.links.resolve(legacyToken)).toEqual({ outreachId, kind: 'applied', state: 'valid' });
      expect(await upgraded.links.resolve(`${legacyToken}.extra`)).toBeNull();
      const stored = await upgraded.database.db.selectFrom('response_tokens').selectAll().where('outreach_id', '=', outreachId).execute();
      expect(stored.map((r) => r.form)).toEqual(['legacy', 'legacy', 'legacy', 'legacy']);
      expect(JSON.stringify(stored)).not.toContain(legacyToken);
    } finally {
      await upgraded.close();
    }
  }, 120_000);

  it('refuses a key file that group or others may read, a short key, and a key id reused for another key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'oshirase-keys-'));
    dirs.push(dataDir);
    const load = (env: NodeJS.ProcessEnv) => loadLinkKeys(engine.db, env, { dataDir, graceDays: 30 });
    // Ids of their own: the suite's database is shared, and the ids' check values are kept in it.
    const id = `k-${randomUUID().slice(0, 8)}`;
    const keys = newLinkKeys(id);
    expect((await load({ RESPONSE_LINK_KEYS: keys }))[0].id).toBe(id);
    await expect(load({ RESPONSE_LINK_KEYS: newLinkKeys(id) })).rejects.toThrow(new RegExp(`RESPONSE_LINK_KEYS: key ${id} is not the key ${id}`));
    await expect(load({ RESPONSE_LINK_KEYS: `${id}:c2hvcnQ` })).rejects.toThrow(new RegExp(`key ${id} must be at least 32 bytes`));
    await expect(load({ RESPONSE_LINK_KEYS: keys, RESPONSE_LINK_KEYS_FILE: join(dataDir, 'nothing') })).rejects.toThrow(/both set/);

    const loose = join(dataDir, 'link-keys');
    writeFileSync(loose, `${keys}\n`, { mode: 0o644 });
    chmodSync(loose, 0o644);
    await expect(load({ RESPONSE_LINK_KEYS_FILE: loose })).rejects.toThrow(/RESPONSE_LINK_KEYS_FILE: the file may be read by group or others/);
    chmodSync(loose, 0o600);
    expect((await load({ RESPONSE_LINK_KEYS_FILE: loose }))[0].id).toBe(id);

    // Rotation: the new key first, the old one kept for the links already out.
    const next = `k-${randomUUID().slice(0, 8)}`;
    expect((await load({ RESPONSE_LINK_KEYS: `${newLinkKeys(next)}, ${keys}` })).map((k) => k.id)).toEqual([next, id]);
  });
});
