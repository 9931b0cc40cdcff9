/**
 * The register's import records without any service: CSV and JSON Lines read
 * with their line numbers, each record checked against the attribute catalog,
 * the email and postal address checks, and every problem naming its line and
 * field but never the value.
 */
import { describe, expect, it } from 'vitest';
import { checkRecord, readCsvRecords, readJsonLinesRecords, RegisterFileError, type RawRecord } from '../engine/register/register-records';
import { registerAddressCheck } from '../channels/letter/register-address-check';

const checks = { today: '2030-06-15', postalAddress: registerAddressCheck({ ja: 'おしらせ市', en: 'Oshirase City' }) };
const GOOD = { resident_id: 'R-1', household_id: 'H-1', family_name: '山田', given_name: '花子', birth_date: '1990-01-02', ward: 'chuo' };

function problemsOf(fields: Record<string, unknown>): string[] {
  const result = checkRecord({ line: 7, fields }, checks);
  return 'problems' in result ? result.problems.map((p) => `${p.line}: ${p.field}: ${p.reason}`) : [];
}

describe('reading a CSV file', () => {
  it('numbers each record by the line it starts on, a quoted field over two lines included', () => {
    const text =
      '\uFEFFresident_id,household_id,family_name,given_name,birth_date,ward,address\r\nR-1,H-1,山田,花子,1990-01-02,chuo,"a\nb"\r\nR-2,H-1,山田,太郎,1991-02-03,chuo,\r\n';
    const records = readCsvRecords('r.csv', text);
    expect(records.map((r: RawRecord) => [r.line, r.fields.resident_id])).toEqual([
      [2, 'R-1'],
      [4, 'R-2'],
    ]);
  });

  it('refuses a header with an unknown, repeated or missing column, naming it', () => {
    expect(() => readCsvRecords('r.csv', 'resident_id,household_id,family_name,given_name,birthdate,ward,ward\n')).toThrow(RegisterFileError);
    try {
      readCsvRecords('r.csv', 'resident_id,household_id,family_name,given_name,birthdate,ward,ward\n');
    } catch (error) {
      expect((error as RegisterFileError).problems).toEqual([
        'line 1: column birthdate: not a resident column (did you mean birth_date?)',
        'line 1: column ward: appears twice',
        'line 1: column birth_date: missing (required)',
      ]);
    }
  });

  it('reads a relationships file by its header', () => {
    const records = readCsvRecords('rel.csv', 'kind,from_resident_id,to_resident_id,since,until\nguardian_of,R-1,R-2,2020-01-01,\n');
    const checked = checkRecord(records[0]!, checks);
    expect(checked).toEqual({
      record: {
        line: 2,
        kind: 'relationship',
        relationship: { kind: 'guardian_of', from_resident_id: 'R-1', to_resident_id: 'R-2', since: '2020-01-01', until: null },
      },
    });
  });
});

describe('reading JSON Lines', () => {
  it('skips blank lines and reports a line that is not a JSON object by its number', () => {
    const { records, problems } = readJsonLinesRecords(`${JSON.stringify(GOOD)}\n\n[1,2]\n{oops\n`);
    expect(records.map((r) => r.line)).toEqual([1]);
    expect(problems).toEqual([
      { line: 3, field: '(record)', reason: 'expected a JSON object (one record a line)' },
      { line: 4, field: '(record)', reason: 'not valid JSON' },
    ]);
  });
});

describe('checking a resident record', () => {
  it('accepts a whole record, with the catalog types from text or JSON', () => {
    const result = checkRecord(
      {
        line: 2,
        fields: {
          ...GOOD,
          family_name_kana: 'ヤマダ',
          income_bracket: '3',
          disability_certificate: true,
          insurance_type: 'employee',
          postal_code: '100-0005',
          address: 'おしらせ市中央1-2-3',
        },
      },
      checks,
    );
    expect(result).toMatchObject({
      record: {
        resident: { id: 'R-1', income_bracket: 3, disability_certificate: true, locale: 'ja', residence_status: 'registered', family_name_kana: 'ヤマダ' },
      },
    });
  });

  it('names every problem of a record by its field, with the reason and never the value', () => {
    const problems = problemsOf({
      ...GOOD,
      given_name: '',
      birth_date: '2031-01-01',
      ward: 'Chuo',
      income_bracket: 9,
      email: 'a@b@example.jp',
      postal_code: '12345',
      address: '丸の内1-1',
      family_name_kana: 'Yamada',
      mynumber: '123456789012',
    });
    expect(problems).toEqual([
      '7: mynumber: not a field of a resident record',
      '7: given_name: missing (required)',
      '7: family_name_kana: expected kana (katakana or hiragana) only',
      '7: birth_date: a birth date cannot lie in the future (today is 2030-06-15 in Japan)',
      '7: ward: must be one of chuo, kita, minami, higashi, nishi, minato (did you mean chuo?)',
      '7: income_bracket: must lie between 1 and 8',
      '7: email: has more than one "@"',
      '7: postal_code: is not a postal code of the form 〒NNN-NNNN',
      '7: address: names neither a prefecture nor the city (おしらせ市 / Oshirase City)',
    ]);
    expect(problems.join('\n')).not.toMatch(/123456789012|a@b@|12345|丸の内|Yamada/);
  });

  it('wants a postal code and an address together, and a status date only with a status', () => {
    expect(problemsOf({ ...GOOD, postal_code: '100-0005' })).toEqual(['7: address: give postal_code and address together, or neither']);
    expect(problemsOf({ ...GOOD, residence_status_on: '2020-01-01' })).toEqual(['7: residence_status_on: only for a resident who moved out or died']);
    expect(problemsOf({ ...GOOD, family_name: '山\u0000田' })).toEqual([
      '7: family_name: contains control or invisible characters (line breaks, tabs, direction marks)',
    ]);
    expect(problemsOf({ ...GOOD, given_name: '\ud800' })).toEqual([
      '7: given_name: contains control or invisible characters (line breaks, tabs, direction marks)',
    ]);
  });
});

describe('checking a relationship record', () => {
  it('refuses a resident related to themselves and an end before the start', () => {
    const result = checkRecord(
      { line: 3, fields: { kind: 'carer_of', from_resident_id: 'R-1', to_resident_id: 'R-1', since: '2020-01-01', until: '2019-01-01' } },
      checks,
    );
    expect(result).toEqual({
      problems: [
        { line: 3, field: 'to_resident_id', reason: 'is the same resident as from_resident_id' },
        { line: 3, field: 'until', reason: 'lies before since' },
      ],
    });
    expect(checkRecord({ line: 4, fields: { kind: 'Guardian_of', from_resident_id: 'R-1', to_resident_id: 'R-2' } }, checks)).toEqual({
      problems: [{ line: 4, field: 'kind', reason: 'must be one of guardian_of, carer_of, legal_representative_of (did you mean guardian_of?)' }],
    });
  });
});
