/**
 * Proxies (代理人) in the register: a carer or legal representative recorded with a proxy mode
 * (`instead` or `copy`) through the register's import, refused on a guardianship, idempotent, and
 * who receives a notice due to the resident on a day (engine/outreach/notice-recipients.ts).
 * The sends themselves are tested in tests/proxy-notices.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestEngine } from './support/test-engine';
import { importRegister } from '../engine/register/import-register';
import { readJsonLinesRecords } from '../engine/register/register-records';
import { noticeRecipients, proxiesOf } from '../engine/outreach/notice-recipients';

let engine: TestEngine;

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
});
afterAll(() => engine?.stop());

const TODAY = '2026-11-20';

async function importLines(lines: object[]) {
  const { records, problems } = readJsonLinesRecords(lines.map((l) => JSON.stringify(l)).join('\n'));
  return importRegister({ db: engine.db, temporal: async () => engine.client }, [{ name: 'proxies.jsonl', records, problems }], {
    allOrNothing: false,
    actor: 'test',
    today: TODAY,
  });
}

it('records carers and legal representatives as proxies from the import, and chooses who receives the notices', async () => {
  const tag = randomUUID().slice(0, 6).toUpperCase();
  const id = (n: string) => `PX${tag}${n}`;
  const resident = (n: string, birth: string) => ({
    resident_id: id(n),
    household_id: `PXH${tag}${n}`,
    family_name: '代理',
    given_name: `花子${n}`,
    birth_date: birth,
    locale: 'ja',
    ward: 'chuo',
  });
  const summary = await importLines([
    resident('A', '1938-02-02'), // in care
    resident('B', '1966-05-05'), // family carer, copy
    resident('C', '1970-07-07'), // legal representative, instead (from 2026-12-01)
    resident('D', '1990-01-01'),
    { kind: 'carer_of', from_resident_id: id('B'), to_resident_id: id('A'), proxy: 'copy' },
    { kind: 'legal_representative_of', from_resident_id: id('C'), to_resident_id: id('A'), since: '2026-12-01', proxy: 'instead' },
    // A guardianship makes no proxy: refused by line and field.
    { kind: 'guardian_of', from_resident_id: id('D'), to_resident_id: id('A'), proxy: 'instead' },
    { kind: 'carer_of', from_resident_id: id('D'), to_resident_id: id('A'), proxy: 'sometimes' },
  ]);
  expect(summary.problems.map((p) => [p.line, p.field])).toEqual([
    [7, 'proxy'],
    [8, 'proxy'],
  ]);
  expect(summary.problems[0]!.reason).toContain('carer_of or legal_representative_of');
  expect(summary.problems[1]!.reason).toContain('instead, copy');
  expect(summary.created).toBe(6);

  // The carer before the representative's day: a copy, the resident still receives theirs.
  expect(await proxiesOf(engine.db, id('A'), '2026-11-30')).toEqual([{ proxyId: id('B'), kind: 'carer_of', mode: 'copy' }]);
  expect(noticeRecipients(id('A'), await proxiesOf(engine.db, id('A'), '2026-11-30'))).toEqual([
    { residentId: id('A'), role: 'resident' },
    { residentId: id('B'), role: 'proxy', onBehalfOf: id('A'), relation: 'carer_of' },
  ]);
  // From the representative's day: instead of the resident; the carer keeps the copy.
  expect(noticeRecipients(id('A'), await proxiesOf(engine.db, id('A'), '2026-12-01'))).toEqual([
    { residentId: id('B'), role: 'proxy', onBehalfOf: id('A'), relation: 'carer_of' },
    { residentId: id('C'), role: 'proxy', onBehalfOf: id('A'), relation: 'legal_representative_of' },
  ]);
  expect(noticeRecipients(id('D'), await proxiesOf(engine.db, id('D'), '2026-12-01'))).toEqual([{ residentId: id('D'), role: 'resident' }]);

  // The same relationships again change nothing; a changed mode is an update.
  const again = await importLines([
    { kind: 'carer_of', from_resident_id: id('B'), to_resident_id: id('A'), proxy: 'copy' },
    { kind: 'legal_representative_of', from_resident_id: id('C'), to_resident_id: id('A'), since: '2026-12-01', proxy: 'instead' },
  ]);
  expect([again.created, again.updated, again.unchanged]).toEqual([0, 0, 2]);
  const changed = await importLines([{ kind: 'carer_of', from_resident_id: id('B'), to_resident_id: id('A'), proxy: 'instead' }]);
  expect([changed.created, changed.updated, changed.unchanged]).toEqual([0, 1, 0]);
  expect(await proxiesOf(engine.db, id('A'), '2026-11-30')).toEqual([{ proxyId: id('B'), kind: 'carer_of', mode: 'instead' }]);
  // Without a proxy mode the relationship stays, but makes no proxy.
  await importLines([{ kind: 'carer_of', from_resident_id: id('B'), to_resident_id: id('A') }]);
  expect(await proxiesOf(engine.db, id('A'), '2026-11-30')).toEqual([]);
});
