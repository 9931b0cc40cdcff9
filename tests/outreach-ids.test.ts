import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/engine-config';
import { loadOutreachIdKey, newOutreachIdKey, OutreachIdKey, outreachIdFor } from '../engine/outreach/outreach-ids';
import { outreachColumns, recordOutreach, type StartOutreachRequest } from '../engine/outreach/start-outreach';
import { recordLifeEvent } from '../engine/intake/record-life-event';
import { TestEngine } from './support/test-engine';

describe('opaque outreach ids', () => {
  const key = newOutreachIdKey();

  it('are the same for the same rule, resident and occurrence under one key, and name none of them', () => {
    const id = outreachIdFor(key, 'child-allowance', 'R-1234567', '2031-04-01');
    expect(id).toMatch(/^o-[a-z2-7]{26}$/);
    expect(outreachIdFor(key, 'child-allowance', 'R-1234567', '2031-04-01')).toBe(id);
    for (const clear of ['child-allowance', 'R-1234567', '1234567', '2031']) expect(id).not.toContain(clear);
  });

  it('differ for any other input, and under any other key', () => {
    const id = outreachIdFor(key, 'child-allowance', 'R-1', 'e');
    expect(outreachIdFor(newOutreachIdKey(), 'child-allowance', 'R-1', 'e')).not.toBe(id);
    expect(outreachIdFor(key, 'child-allowance', 'R-2', 'e')).not.toBe(id);
    expect(outreachIdFor(key, 'school-support', 'R-1', 'e')).not.toBe(id);
    expect(outreachIdFor(key, 'child-allowance', 'R-1', 'f')).not.toBe(id);
    // No separator inside a value makes two triples one.
    expect(outreachIdFor(key, 'a:b', 'c', 'd')).not.toBe(outreachIdFor(key, 'a', 'b:c', 'd'));
  });

  it('keep the key out of logs and JSON, and refuse a short or malformed one naming the variable', () => {
    const secret = randomBytes(32);
    const shown = new OutreachIdKey(secret);
    expect(JSON.stringify({ shown })).not.toContain(secret.toString('base64url'));
    expect(inspect(shown)).not.toContain(secret.toString('hex'));
    expect(() => new OutreachIdKey(randomBytes(16))).toThrow(/OUTREACH_ID_KEY: the key must be at least 32 bytes/);
    const dataDir = mkdtempSync(join(tmpdir(), 'oshirase-ids-'));
    expect(() => loadOutreachIdKey({ OUTREACH_ID_KEY: 'not base64url!' }, { dataDir })).toThrow(ConfigError);
    expect(() => loadOutreachIdKey({ OUTREACH_ID_KEY: 'not base64url!' }, { dataDir })).toThrow(/^OUTREACH_ID_KEY: /);
    const configured = randomBytes(32).toString('base64url');
    expect(outreachIdFor(loadOutreachIdKey({ OUTREACH_ID_KEY: configured }, { dataDir }), 'r', 'x', 'o')).toBe(
      outreachIdFor(new OutreachIdKey(Buffer.from(configured, 'base64url')), 'r', 'x', 'o'),
    );
  });

  it('are generated once into the data folder with a warning when none is configured, and read from there after', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'oshirase-ids-'));
    const warnings: string[] = [];
    const first = loadOutreachIdKey({}, { dataDir, warn: (m) => warnings.push(m) });
    const again = loadOutreachIdKey({}, { dataDir, warn: (m) => warnings.push(m) });
    expect(outreachIdFor(first, 'r', 'x', 'o')).toBe(outreachIdFor(again, 'r', 'x', 'o'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/OUTREACH_ID_KEY is not set/);
    expect(warnings[0]).not.toContain(readFileSync(join(dataDir, 'secrets', 'outreach_id_key'), 'utf8').trim());
  });
});

describe('the outreach row is the mapping', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await TestEngine.start({ withWorker: false });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  const request = (residentId: string, occurrenceKey: string): StartOutreachRequest => ({
    ruleId: 'child-allowance',
    ruleVersion: 2,
    residentId,
    occurrenceKey,
    triggerDate: '2031-04-01',
    memberId: null,
    eventId: null,
    reason: {},
  });

  it('maps a repeat onto the stored row: one row, whatever key made the id, and rows made before ids were opaque keep theirs', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const fresh = request(resident.id, `ids-${randomUUID()}`);
    const first = await recordOutreach(engine.db, engine.context.outreachIdKey, fresh);
    expect(first.outreachId).toBe(outreachIdFor(engine.context.outreachIdKey, 'child-allowance', resident.id, fresh.occurrenceKey));
    // Another process with another key (a misconfigured one, or after OUTREACH_ID_KEY changed): still the one row.
    expect((await recordOutreach(engine.db, newOutreachIdKey(), fresh)).outreachId).toBe(first.outreachId);

    // A row stored under the id of earlier versions: a duplicate event after the upgrade finds it. Its workflow
    // was started then (such rows predate the outbox, migration 0024): not pending, or a worker's outbox sweeper
    // would start a workflow under the old id, naming the resident (the history scan at the suite's end saw one).
    const legacy = request(resident.id, `ids-${randomUUID()}`);
    const legacyId = `outreach:child-allowance:${resident.id}:${legacy.occurrenceKey}`;
    await engine.db
      .insertInto('outreach')
      .values({ ...outreachColumns(engine.context.outreachIdKey, legacy), id: legacyId, status: 'active', workflow_pending: false })
      .execute();
    expect((await recordOutreach(engine.db, engine.context.outreachIdKey, legacy)).outreachId).toBe(legacyId);

    // The intake's single statement does the same.
    const event = { id: `ids-birth-${randomUUID()}`, type: 'birth' as const, residentId: resident.id, occurredOn: '2001-05-06', payload: {} };
    const rows = [fresh, legacy, request(resident.id, `ids-${randomUUID()}`)].map((r) => outreachColumns(newOutreachIdKey(), r));
    const outcome = await recordLifeEvent(engine.db, event, 'test:ids', [], rows);
    if (outcome.kind === 'conflict') throw new Error('unexpected conflict');
    expect(rows.map((r) => outcome.recorded.get(r.id)?.outreachId)).toEqual([first.outreachId, legacyId, rows[2]!.id]);

    const stored = await engine.db.selectFrom('outreach').select('id').where('resident_id', '=', resident.id).execute();
    expect(stored.map((s) => s.id).sort()).toEqual([first.outreachId, legacyId, rows[2]!.id].sort());
  });
});
