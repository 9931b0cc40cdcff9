import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../store/connect';
import { ParameterSet } from '../engine/rule-language/parameters';
import type { Rule } from '../engine/rule-language/rule-schema';
import { evaluateRule, type ResidentFacts } from '../engine/rule-language/evaluate-rule';
import { matchPopulation } from '../engine/rule-language/compile-sql';
import { loadResidentFacts } from '../engine/rule-language/resident-facts';
import { addResident } from '../engine/register/residents';
import { probeRule } from './support/probe-rule';
import { residentRow } from './support/rows';

// A threshold that changes on 1 April changes who matches on that very day, in both evaluators.
const parameters = new ParameterSet([
  { id: 'test.income_limit', description: 'income bracket limit', type: 'integer', values: { '2025-04-01': 3, '2026-04-01': 4 } },
]);
const rule: Rule = probeRule({
  id: 'parameter-change-probe',
  purpose: 'school-support',
  conditions: { all: [{ attribute: 'income_bracket', atMost: { parameter: 'test.income_limit' } }] },
});

let handle: DatabaseHandle;
const tag = `PARAM${Date.now().toString(36)}`;
const brackets = [2, 3, 4, 5];

beforeAll(async () => {
  handle = await openDatabase({ databaseUrl: inject('databaseUrl') });
  for (const bracket of brackets) {
    await addResident(handle.db, residentRow(`${tag}-${bracket}`, { household_id: `${tag}-H${bracket}`, birth_date: '1990-01-01', income_bracket: bracket }), [
      'school-support',
    ]);
  }
});
afterAll(async () => {
  await handle?.close();
});

function inMemory(on: string): string[] {
  return brackets
    .map((bracket) => {
      const facts: ResidentFacts = {
        id: `${tag}-${bracket}`,
        birth_date: '1990-01-01',
        ward: 'chuo',
        residence_status: 'registered',
        income_bracket: bracket,
        insurance_type: null,
        disability_certificate: false,
        moved_in_on: null,
        members: [{ id: `${tag}-${bracket}`, birth_date: '1990-01-01' }],
      };
      return evaluateRule(rule, facts, { on, parameters, event: { id: 'e', type: 'birth', date: on, payload: {} } }).matched ? facts.id : null;
    })
    .filter((id): id is string => id !== null);
}

async function inSql(on: string): Promise<string[]> {
  const rows = await matchPopulation(
    handle.db,
    rule,
    { on, parameters, event: { id: 'e', type: 'birth', date: on, payload: {} } },
    { fromId: `${tag}-`, toId: `${tag}-~` },
  );
  return rows.map((r) => r.resident_id).sort();
}

describe('a parameter with effective dates', () => {
  it('gives the value in force on a date', () => {
    expect(parameters.valueOn('test.income_limit', '2026-03-31')).toEqual({ value: 3, since: '2025-04-01' });
    expect(parameters.valueOn('test.income_limit', '2026-04-01')).toEqual({ value: 4, since: '2026-04-01' });
    expect(parameters.valueOn('test.income_limit', '2025-03-31')).toBeNull();
  });

  it('changes who matches on its effective date, in memory and in SQL alike', async () => {
    expect(inMemory('2026-03-31')).toEqual([`${tag}-2`, `${tag}-3`]);
    expect(inMemory('2026-04-01')).toEqual([`${tag}-2`, `${tag}-3`, `${tag}-4`]);
    expect(await inSql('2026-03-31')).toEqual(inMemory('2026-03-31'));
    expect(await inSql('2026-04-01')).toEqual(inMemory('2026-04-01'));
    // Before any value is in force nobody matches: a missing threshold is never "no limit".
    expect(inMemory('2025-03-01')).toEqual([]);
    expect(await inSql('2025-03-01')).toEqual([]);
  });
});

/**
 * Both evaluators, for the residents whose ids start with `prefix`: every
 * (resident, trigger date) that matches. In memory through the facts the
 * engine loads, in SQL through the population query.
 */
async function matchesBoth(
  r: Rule,
  on: string,
  prefix: string,
  event: { id: string; type: 'birth'; date: string; payload: Record<string, never> } | null = null,
) {
  const ids = (await handle.db.selectFrom('residents').select('id').where('id', '>=', prefix).where('id', '<', `${prefix}~`).orderBy('id').execute()).map(
    (x) => x.id,
  );
  const facts = await loadResidentFacts(handle.db, ids);
  const memory = ids.flatMap((id) =>
    evaluateRule(r, facts.get(id)!, { on, parameters, event })
      .occurrences.filter((o) => o.passed)
      .map((o) => `${id} ${o.triggerDate}`),
  );
  const rows = await matchPopulation(handle.db, r, { on, parameters, event }, { fromId: prefix, toId: `${prefix}~` });
  return { memory: memory.sort(), sql: rows.map((x) => `${x.resident_id} ${x.trigger_date}`).sort() };
}

describe('parameters are read on the trigger date, not on the evaluation date', () => {
  const withLimit = (fields: { id: string } & Record<string, unknown>) =>
    probeRule({ purpose: 'school-support', conditions: { attribute: 'income_bracket', atMost: { parameter: 'test.income_limit' } }, ...fields });

  it('a rule about 1 April, evaluated in January, uses the threshold of that April (school support)', async () => {
    const prefix = `${tag}-CAL`;
    for (const bracket of [3, 4, 5]) await addResident(handle.db, residentRow(`${prefix}-${bracket}`, { income_bracket: bracket }), ['school-support']);
    const april = withLimit({ id: 'parameter-on-trigger-calendar', trigger: { calendar: { month: 4, day: 1, leadDays: 75 } } });
    // On 2026-01-20 the limit in force is 3; on the trigger date, 2026-04-01, it is 4.
    const inJanuary = await matchesBoth(april, '2026-01-20', prefix);
    expect(inJanuary.memory).toEqual([`${prefix}-3 2026-04-01`, `${prefix}-4 2026-04-01`]);
    expect(inJanuary.sql).toEqual(inJanuary.memory);
    // The explanation names the value it used and since when.
    const facts = await loadResidentFacts(handle.db, [`${prefix}-4`]);
    const why = evaluateRule(april, facts.get(`${prefix}-4`)!, { on: '2026-01-20', parameters, event: null }).occurrences[0]!.explanation;
    expect(JSON.stringify(why)).toContain('"test.income_limit":{"value":4,"since":"2026-04-01"}');
  });

  it('a life event reported after the threshold changed is judged by the threshold on the day it happened', async () => {
    const prefix = `${tag}-EVT`;
    for (const bracket of [3, 4]) await addResident(handle.db, residentRow(`${prefix}-${bracket}`, { income_bracket: bracket }), ['school-support']);
    const birth = withLimit({ id: 'parameter-on-trigger-event' });
    // Born on 2026-03-25 (limit 3), registered late and evaluated on 2026-04-10 (limit 4).
    const late = await matchesBoth(birth, '2026-04-10', prefix, { id: 'E-late', type: 'birth', date: '2026-03-25', payload: {} });
    expect(late.memory).toEqual([`${prefix}-3 2026-03-25`]);
    expect(late.sql).toEqual(late.memory);
  });

  it('with a trigger date of its own per resident, each resident is judged on theirs, also where the threshold changes inside the window', async () => {
    const prefix = `${tag}-AGE`;
    // Turning 65 on 2026-03-15 (limit 3 then) or on 2026-04-15 (limit 4 then), with bracket 3 or 4.
    for (const [label, birth] of [
      ['MAR', '1961-03-15'],
      ['APR', '1961-04-15'],
    ] as const)
      for (const bracket of [3, 4])
        await addResident(handle.db, residentRow(`${prefix}-${label}-${bracket}`, { birth_date: birth, income_bracket: bracket }), ['school-support']);
    const turning65 = withLimit({ id: 'parameter-on-trigger-age', trigger: { reaches: { attribute: 'age', value: 65, leadDays: 60 } } });
    const result = await matchesBoth(turning65, '2026-03-01', prefix);
    expect(result.memory).toEqual([`${prefix}-APR-3 2026-04-15`, `${prefix}-APR-4 2026-04-15`, `${prefix}-MAR-3 2026-03-15`]);
    expect(result.sql).toEqual(result.memory);
    // The same under `not`: the stretches of the window cover every trigger date, so negation stays exact.
    const notUnder = probeRule({
      id: 'parameter-on-trigger-age-not',
      purpose: 'school-support',
      trigger: { reaches: { attribute: 'age', value: 65, leadDays: 60 } },
      conditions: { not: { attribute: 'income_bracket', atMost: { parameter: 'test.income_limit' } } },
    });
    const negated = await matchesBoth(notUnder, '2026-03-01', prefix);
    expect(negated.memory).toEqual([`${prefix}-MAR-4 2026-03-15`]);
    expect(negated.sql).toEqual(negated.memory);
  });
});
