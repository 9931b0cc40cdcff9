import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../store/connect';
import { migrateToLatest } from '../store/migrate';
import { addResident } from '../engine/register/residents';
import { PURPOSE_IDS } from '../engine/rule-language/attribute-catalog';
import { clearPopulation, describePopulation, generatePopulation } from '../dev/population/generate-population';
import { populationCommand } from '../cli/population-commands';
import { matchPopulation, matchPopulationTogether, type MatchRow } from '../engine/rule-language/compile-sql';
import { loadRuleSet, projectRuleSetOptions } from '../engine/rule-language/load-rules';
import { PROJECT_ROOT } from '../runtime/engine-context';
import { residentRow } from './support/rows';

const REFERENCE_DATE = '2026-05-15';
const RESIDENTS = 2000;

let handle: DatabaseHandle;
const prefixes: string[] = [];
const bystanders: string[] = [];

/** A prefix no other test (or run) uses; it must not end in a digit. */
function uniquePrefix(): string {
  const prefix = `t${randomUUID().slice(0, 8)}-`;
  prefixes.push(prefix);
  return prefix;
}

beforeAll(async () => {
  handle = await openDatabase({ databaseUrl: inject('databaseUrl') });
  await migrateToLatest(handle.db);
});

afterAll(async () => {
  // Leave nothing behind: other test files evaluate rules over every resident.
  for (const prefix of prefixes) await clearPopulation(handle.db, prefix);
  for (const id of bystanders) {
    await handle.db.deleteFrom('consents').where('resident_id', '=', id).execute();
    await handle.db.deleteFrom('residents').where('id', '=', id).execute();
  }
  await handle.close();
});

const like = (prefix: string) => `${prefix}%`;

async function snapshot(prefix: string) {
  const db = handle.db;
  const residents = await db.selectFrom('residents').selectAll().where('id', 'like', like(prefix)).orderBy('id').execute();
  const consents = await db.selectFrom('consents').selectAll().where('resident_id', 'like', like(prefix)).orderBy('resident_id').orderBy('purpose').execute();
  const subscriptions = await db
    .selectFrom('push_subscriptions')
    .select(['resident_id', 'endpoint', 'p256dh', 'auth', 'created_at'])
    .where('resident_id', 'like', like(prefix))
    .orderBy('endpoint')
    .execute();
  return { residents, consents, subscriptions };
}

/** Whole years from one ISO date to another. */
function yearsBetween(from: string, to: string): number {
  return Number(to.slice(0, 4)) - Number(from.slice(0, 4)) - (to.slice(5) < from.slice(5) ? 1 : 0);
}

describe('generatePopulation', () => {
  const prefix = uniquePrefix();
  let rows: Awaited<ReturnType<typeof snapshot>>;
  let households: number;

  beforeAll(async () => {
    const progress: number[] = [];
    const result = await generatePopulation(handle.db, {
      residents: RESIDENTS,
      seed: 20260515,
      idPrefix: prefix,
      referenceDate: REFERENCE_DATE,
      batchSize: 500,
      onProgress: (done, total) => {
        expect(total).toBe(RESIDENTS);
        progress.push(done);
      },
    });
    expect(result.residents).toBe(RESIDENTS);
    expect(progress.at(-1)).toBe(RESIDENTS);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    households = result.households;
    rows = await snapshot(prefix);
  });

  it('gives the same rows for the same seed and date, whatever the batch size', async () => {
    await clearPopulation(handle.db, prefix);
    expect((await snapshot(prefix)).residents).toHaveLength(0);
    await generatePopulation(handle.db, { residents: RESIDENTS, seed: 20260515, idPrefix: prefix, referenceDate: REFERENCE_DATE, batchSize: 337 });
    const again = await snapshot(prefix);
    expect(again.residents).toEqual(rows.residents);
    expect(again.consents).toEqual(rows.consents);
    expect(again.subscriptions).toEqual(rows.subscriptions);
  });

  it('refuses to generate over an existing population and leaves it alone', async () => {
    await expect(generatePopulation(handle.db, { residents: 10, seed: 1, idPrefix: prefix, referenceDate: REFERENCE_DATE })).rejects.toThrow(/exist already/);
    expect((await describePopulation(handle.db, prefix)).residents).toBe(RESIDENTS);
  });

  it('gives different residents for a different seed', async () => {
    const other = uniquePrefix();
    await generatePopulation(handle.db, { residents: RESIDENTS, seed: 7, idPrefix: other, referenceDate: REFERENCE_DATE });
    const theirs = await snapshot(other);
    expect(theirs.residents).toHaveLength(RESIDENTS);
    const person = (r: (typeof rows.residents)[number]) => `${r.family_name} ${r.given_name} ${r.birth_date}`;
    const same = theirs.residents.filter((r, i) => person(r) === person(rows.residents[i]!)).length;
    expect(same).toBeLessThan(RESIDENTS / 20);
  });

  it('numbers residents densely and households in order', () => {
    expect(rows.residents.map((r) => r.id)).toEqual(Array.from({ length: RESIDENTS }, (_, i) => `${prefix}${String(i + 1).padStart(7, '0')}`));
    expect(new Set(rows.residents.map((r) => r.household_id)).size).toBe(households);
    expect(rows.residents[0]!.household_id).toBe(`${prefix}HH000001`);
    const householdIds = rows.residents.map((r) => r.household_id);
    expect(householdIds).toEqual([...householdIds].sort());
  });

  it('has households of a Japanese city: mostly small, about 2.2 people on average', () => {
    const average = RESIDENTS / households;
    expect(average).toBeGreaterThan(1.8);
    expect(average).toBeLessThan(2.8);
  });

  it('follows an ageing age pyramid, with infants and the very old', () => {
    const ages = rows.residents.map((r) => yearsBetween(r.birth_date, REFERENCE_DATE));
    const share = (test: (age: number) => boolean) => ages.filter(test).length / ages.length;
    expect(Math.min(...ages)).toBeGreaterThanOrEqual(0);
    expect(share((a) => a >= 75)).toBeGreaterThan(0.1);
    expect(share((a) => a >= 75)).toBeLessThan(0.22);
    expect(share((a) => a >= 45 && a < 75)).toBeGreaterThan(0.3);
    expect(share((a) => a < 15)).toBeGreaterThan(0.07);
    expect(share((a) => a < 15)).toBeLessThan(0.17);
    expect(ages.filter((a) => a < 3).length).toBeGreaterThan(10);
    expect(ages.filter((a) => a >= 90).length).toBeGreaterThan(0);
    expect(rows.residents.every((r) => r.birth_date <= REFERENCE_DATE)).toBe(true);
  });

  it('gives every child a household member old enough to be their parent', () => {
    const byHousehold = new Map<string, string[]>();
    for (const r of rows.residents) byHousehold.set(r.household_id, [...(byHousehold.get(r.household_id) ?? []), r.birth_date]);
    const children = rows.residents.filter((r) => yearsBetween(r.birth_date, REFERENCE_DATE) < 18);
    expect(children.length).toBeGreaterThan(100);
    for (const child of children) {
      const gaps = byHousehold.get(child.household_id)!.map((birth) => yearsBetween(birth, child.birth_date));
      expect(
        gaps.some((gap) => gap >= 18 && gap <= 46),
        `${child.id} born ${child.birth_date}`,
      ).toBe(true);
    }
  });

  it('gives insurance consistent with age', () => {
    const insurance = (test: (age: number) => boolean) =>
      rows.residents.filter((r) => test(yearsBetween(r.birth_date, REFERENCE_DATE))).map((r) => r.insurance_type);
    expect(insurance((a) => a >= 75).every((t) => t === 'late-elderly' || t === 'public-assistance')).toBe(true);
    expect(insurance((a) => a >= 75).filter((t) => t === 'late-elderly').length / insurance((a) => a >= 75).length).toBeGreaterThan(0.9);
    expect(insurance((a) => a < 65).includes('late-elderly')).toBe(false);
    const youngOld = insurance((a) => a >= 65 && a < 75);
    expect(youngOld.filter((t) => t === 'national-health').length / youngOld.length).toBeGreaterThan(0.6);
    const working = insurance((a) => a >= 20 && a < 65);
    expect(working.filter((t) => t === 'employee').length / working.length).toBeGreaterThan(0.6);
    expect(working.filter((t) => t === 'national-health').length).toBeGreaterThan(0);
    expect(rows.residents.some((r) => r.insurance_type === 'public-assistance')).toBe(true);
  });

  it("evaluates the city's rules in one pass exactly as rule by rule, on this population", async () => {
    const { rules, parameters } = loadRuleSet(projectRuleSetOptions(PROJECT_ROOT));
    // Event rules as if the event happened to everyone, as `rules simulate` supposes; calendar rules on their day.
    const days = [REFERENCE_DATE, '2026-04-01', '2027-01-20'];
    for (const on of days) {
      const batch = rules.map(({ rule }) => ({
        rule,
        ctx: { on, parameters, event: 'event' in rule.trigger ? { id: 'simulated', type: rule.trigger.event, date: on, payload: {} } : null },
      }));
      // One snapshot for both, whatever other test files add meanwhile.
      await handle.db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (trx) => {
          for (const requireConsent of [false, true]) {
            const together = await matchPopulationTogether(trx, batch, { requireConsent });
            let matched = 0;
            for (const [i, { rule, ctx }] of batch.entries()) {
              const alone = await matchPopulation(trx, rule, ctx, { requireConsent });
              const key = (r: MatchRow) => `${r.resident_id} ${r.occurrence_key} ${r.trigger_date} ${r.member_id ?? '-'}`;
              expect(together[i]!.map(key).sort(), `${rule.id} on ${on}${requireConsent ? ', consent required' : ''}`).toEqual(alone.map(key).sort());
              matched += alone.filter((r) => r.resident_id.startsWith(prefix)).length;
            }
            expect(matched).toBeGreaterThan(0);
          }
        });
    }
  });

  it('has plausible shares of channels, languages, statuses and attributes', () => {
    const share = (test: (r: (typeof rows.residents)[number]) => boolean) => rows.residents.filter(test).length / RESIDENTS;
    expect(share((r) => r.email !== null)).toBeGreaterThan(0.6);
    expect(share((r) => r.email !== null)).toBeLessThan(0.8);
    const elderlyEmail = rows.residents.filter((r) => yearsBetween(r.birth_date, REFERENCE_DATE) >= 75);
    expect(elderlyEmail.filter((r) => r.email !== null).length / elderlyEmail.length).toBeLessThan(0.5);
    const withPush = new Set(rows.subscriptions.map((s) => s.resident_id)).size / RESIDENTS;
    expect(withPush).toBeGreaterThan(0.25);
    expect(withPush).toBeLessThan(0.45);
    expect(share((r) => r.locale === 'ja')).toBeGreaterThan(0.85);
    expect(share((r) => r.locale === 'en')).toBeGreaterThan(0.01);
    expect(share((r) => r.locale === 'ja-easy')).toBeGreaterThan(0.005);
    expect(share((r) => r.address !== null)).toBeGreaterThan(0.97);
    expect(share((r) => r.disability_certificate)).toBeGreaterThan(0.02);
    expect(share((r) => r.disability_certificate)).toBeLessThan(0.07);
    const lastYear = `${Number(REFERENCE_DATE.slice(0, 4)) - 1}${REFERENCE_DATE.slice(4)}`;
    expect(share((r) => r.moved_in_on !== null && r.moved_in_on > lastYear)).toBeGreaterThan(0.02);
    expect(share((r) => r.moved_in_on !== null && r.moved_in_on > lastYear)).toBeLessThan(0.09);
    expect(share((r) => r.residence_status === 'moved-out')).toBeGreaterThan(0);
    expect(share((r) => r.residence_status === 'moved-out')).toBeLessThan(0.03);
    expect(share((r) => r.residence_status === 'registered')).toBeGreaterThan(0.96);
    expect(rows.residents.every((r) => r.income_bracket === null || (r.income_bracket >= 1 && r.income_bracket <= 8))).toBe(true);
    // A household shares its income bracket (one tax assessment) and its address.
    const perHousehold = new Map<string, string>();
    for (const r of rows.residents) {
      const key = `${r.income_bracket}|${r.address}|${r.postal_code}|${r.ward}`;
      expect(perHousehold.get(r.household_id) ?? key).toBe(key);
      perHousehold.set(r.household_id, key);
    }
  });

  it('writes fictional Japanese names and addresses of おしらせ市', () => {
    for (const r of rows.residents) {
      expect(r.family_name.length).toBeGreaterThan(0);
      expect(r.given_name.length).toBeGreaterThan(0);
      if (r.address !== null) {
        expect(r.address).toMatch(/^おしらせ市\S+?\d+-\d+-\d+$/);
        expect(r.postal_code).toMatch(/^\d{3}-\d{4}$/);
      }
      if (r.email !== null) expect(r.email).toMatch(/^[a-z]+\.[a-z]+\.[0-9a-z]+@[a-z]+\.example$/);
      expect(['chuo', 'kita', 'minami', 'higashi', 'nishi', 'minato']).toContain(r.ward);
    }
    expect(rows.residents.some((r) => r.family_name === '佐藤')).toBe(true);
  });

  it('stores well-formed fake push subscriptions', () => {
    expect(rows.subscriptions.length).toBeGreaterThan(0);
    for (const s of rows.subscriptions) {
      expect(s.endpoint).toMatch(/^https:\/\/push\.invalid\/[\w./-]+$/);
      const key = Buffer.from(s.p256dh, 'base64url');
      expect(key).toHaveLength(65);
      expect(key[0]).toBe(0x04);
      expect(Buffer.from(s.auth, 'base64url')).toHaveLength(16);
      expect(s.p256dh).toMatch(/^[A-Za-z0-9_-]+$/);
    }
  });

  it('records consent per purpose for most residents, some of it withdrawn', async () => {
    const profile = await describePopulation(handle.db, prefix);
    expect(profile.residents).toBe(RESIDENTS);
    for (const purpose of PURPOSE_IDS) {
      const inForce = profile.consents[purpose]! / RESIDENTS;
      expect(inForce, purpose).toBeGreaterThan(0.55);
      expect(inForce, purpose).toBeLessThan(0.9);
    }
    const withdrawn = rows.consents.filter((c) => c.withdrawn_at !== null);
    expect(withdrawn.length).toBeGreaterThan(0);
    expect(withdrawn.every((c) => c.withdrawn_at! > c.granted_at)).toBe(true);
    expect(rows.consents.every((c) => c.granted_at.getTime() < Date.parse(`${REFERENCE_DATE}T00:00:00+09:00`))).toBe(true);
  });
});

describe('clearPopulation', () => {
  it('removes a population with its consents and subscriptions, and nothing else', async () => {
    const mine = uniquePrefix();
    const neighbour = uniquePrefix();
    await generatePopulation(handle.db, { residents: 300, seed: 3, idPrefix: mine, referenceDate: REFERENCE_DATE });
    await generatePopulation(handle.db, { residents: 200, seed: 3, idPrefix: neighbour, referenceDate: REFERENCE_DATE });
    const before = await snapshot(mine);
    // Starts with the prefix but was not generated by it.
    const bystander = `${mine}X1`;
    bystanders.push(bystander);
    await addResident(handle.db, residentRow(bystander, { household_id: `${mine}X-household` }), ['relocation']);

    const removed = await clearPopulation(handle.db, mine);
    expect(removed.residents).toBe(300);
    expect(removed.consents).toBe(before.consents.length);
    expect(removed.pushSubscriptions).toBe(before.subscriptions.length);

    const after = await snapshot(mine);
    expect(after.residents.map((r) => r.id)).toEqual([bystander]);
    expect(after.consents.map((c) => c.resident_id)).toEqual([bystander]);
    expect(after.subscriptions).toEqual([]);
    expect((await describePopulation(handle.db, neighbour)).residents).toBe(200);
    // The index it may add for the deletion is gone again.
    const helpers = await sql<{ indexname: string }>`select indexname from pg_indexes where indexname like '%_for_clear'`.execute(handle.db);
    expect(helpers.rows).toEqual([]);
  });
});

describe('oshirase population', () => {
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const progress: string[] = [];
    const code = await populationCommand(argv, {
      db: handle.db,
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      progress: { isTTY: true, write: (chunk) => progress.push(chunk) },
    });
    return { code, out, err, progress };
  };

  it.each([
    [['generate'], '--residents is required'],
    [['generate', '--residents', '0'], '--residents must be a positive integer'],
    [['generate', '--residents', '12abc'], '--residents must be a positive integer'],
    [['generate', '--residents', '5000001'], '--residents must be a positive integer up to 5000000'],
    [['generate', '--residents', '10', '--seed', '1.5'], '--seed must be an integer'],
    [['generate', '--residents', '10', '--prefix', 'P1'], '--prefix'],
    [['generate', '--residents', '10', '--date', '2026-02-30'], '--date must be a date'],
    [['generate', '--residents', '10', '--bogus'], "'--bogus'"],
    [['scatter'], "unknown subcommand 'scatter'"],
    [[], 'a subcommand is required'],
  ])('refuses %j with one line naming the problem', async (argv, message) => {
    const result = await run(...argv);
    expect(result.code).toBe(2);
    expect(result.err).toHaveLength(1);
    expect(result.err[0]).toContain(message);
  });

  it('prints usage for --help', async () => {
    const result = await run('generate', '--help');
    expect(result.code).toBe(0);
    expect(result.out.join('\n')).toContain('oshirase population generate --residents N');
  });

  it('generates with a progress line and a summary, refuses to overwrite, replaces and clears', async () => {
    const prefix = uniquePrefix();
    const first = await run('generate', '--residents', '600', '--seed', '5', '--prefix', prefix, '--date', REFERENCE_DATE);
    expect(first.code).toBe(0);
    const summary = first.out.join('\n');
    expect(summary).toMatch(/generated 600 residents in [\d,]+ households/);
    expect(summary).toMatch(/with email\s+\d+\.\d%/);
    for (const purpose of PURPOSE_IDS) expect(summary).toContain(purpose);
    expect(first.progress.some((chunk) => chunk.startsWith('[') && chunk.includes('100.0%') && chunk.includes('residents/s'))).toBe(true);
    expect(first.progress.at(-1)).toBe('\n');

    const again = await run('generate', '--residents', '600', '--prefix', prefix);
    expect(again.code).toBe(1);
    expect(again.err[0]).toContain('--replace');

    const replaced = await run('generate', '--residents', '400', '--prefix', prefix, '--replace', '--date', REFERENCE_DATE);
    expect(replaced.code).toBe(0);
    expect((await describePopulation(handle.db, prefix)).residents).toBe(400);

    const cleared = await run('clear', '--prefix', prefix);
    expect(cleared.code).toBe(0);
    expect(cleared.out[0]).toMatch(/^removed 400 residents/);
    expect((await describePopulation(handle.db, prefix)).residents).toBe(0);
  });
});
