import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable, whileDatabaseReturns } from '../store/database-errors';

describe('a database that is away', () => {
  it('is told apart from other errors', () => {
    for (const error of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      Object.assign(new Error('the database system is starting up'), { code: '57P03' }),
      Object.assign(new Error('connection failure'), { code: '08006' }),
      new Error('Connection terminated unexpectedly'),
    ])
      expect(isDatabaseUnavailable(error)).toBe(true);
    for (const error of [
      Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
      new Error('boom'),
      null,
      'ECONNREFUSED',
    ])
      expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('is waited for; any other error is thrown at once, and so is an outage longer than allowed', async () => {
    let calls = 0;
    const away = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    await expect(
      whileDatabaseReturns(async () => {
        calls += 1;
        if (calls < 3) throw away;
        return 'stored';
      }, 10_000),
    ).resolves.toBe('stored');
    expect(calls).toBe(3);

    calls = 0;
    await expect(
      whileDatabaseReturns(async () => {
        calls += 1;
        throw new Error('boom');
      }, 10_000),
    ).rejects.toThrow('boom');
    expect(calls).toBe(1);

    await expect(
      whileDatabaseReturns(async () => {
        throw away;
      }, 300),
    ).rejects.toBe(away);
  });
});
