import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../store/connect';
import { ParameterSet } from '../engine/rule-language/parameters';
import type { Rule } from '../engine/rule-language/rule-schema';
import { evaluateRule, type ResidentFacts } from '../engine/rule-language/evaluate-rule';
import { matchPopulation } from '../engine/rule-language/compile-sql';
import { addResident } from '../engine/register/residents';
import { probeRule } from './support/probe-rule';

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
    await addResident(
      handle.db,
      {
        id: `${tag}-${bracket}`,
        household_id: `${tag}-H${bracket}`,
        family_name: '試験',
        given_name: '一郎',
        birth_date: '1990-01-01',
        locale: 'ja',
        email: null,
        email_status: 'unverified',
        postal_code: null,
        address: null,
        ward: 'chuo',
        residence_status: 'registered',
        income_bracket: bracket,
      },
      ['school-support'],
    );
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
  it('uses the value in force on the evaluation date', () => {
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
