/**
 * Email addresses: exactly one bare address, checked where a resident is
 * added and again before every send, so that a stored value can never add a
 * recipient or a header to a notice. The door is tested on the real database;
 * the send on the real worker and SMTP server, with an address written around
 * the door (as an older version or a hand-made import could have left it).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEmailAddress, InvalidEmailAddressError } from '../engine/register/email-address';
import { addResident } from '../engine/register/residents';
import { TestEngine, mailsTo, outreachIdOf, waitFor } from './support/test-engine';

describe('checkEmailAddress', () => {
  it.each(['hanako@residents.example', 'hanako.sato+city@mail.residents.example', "o'brien@residents.example", '花子@例え.jp'])('takes %s', (address) => {
    expect(checkEmailAddress(address)).toEqual({ ok: true, address });
  });

  it.each([
    ['a CR/LF that would start a Bcc header', 'hanako@residents.example\r\nBcc: someone@elsewhere.example', 'line break'],
    ['a bare LF', 'hanako@residents.example\nX-Injected: 1', 'line break'],
    ['a second recipient after a comma', 'hanako@residents.example, someone@elsewhere.example', 'more than one address'],
    ['a semicolon list', 'hanako@residents.example;someone@elsewhere.example', 'more than one address'],
    ['a display name', 'Hanako <hanako@residents.example>', 'display name'],
    ['a quoted local part', '"hanako sato"@residents.example', 'display name, quotes'],
    ['no @', 'hanako.residents.example', 'no "@"'],
    ['two @', 'hanako@sato@residents.example', 'more than one "@"'],
    ['a domain without a dot', 'hanako@localhost', 'without a dot'],
    ['an IP literal', 'hanako@[127.0.0.1]', 'IP address'],
    ['a NUL', 'hanako\u0000@residents.example', 'NUL'],
    ['a space', 'hanako sato@residents.example', 'whitespace'],
    ['nothing', '', 'empty'],
  ])('refuses %s, saying why and never repeating the address', (_what, value, reason) => {
    const checked = checkEmailAddress(value);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.reason).toContain(reason);
    expect(checked.reason).not.toContain('residents.example');
  });

  it('never accepts a value that contains CR, LF or a comma, whatever surrounds it', () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom('\r', '\n', ',', '\r\n'), fc.string(), (before, bad, after) => {
        expect(checkEmailAddress(`${before}${bad}${after}`).ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('on the real engine', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await TestEngine.start();
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it('refuses a resident whose address has a CR/LF, naming the field, and stores nothing', async () => {
    const id = `T-crlf-${Date.now().toString(36)}`;
    const adding = addResident(
      engine.db,
      {
        id,
        household_id: `H-${id}`,
        family_name: '試験',
        given_name: '花子',
        birth_date: '1994-07-13',
        locale: 'ja',
        email: 'hanako@residents.example\r\nBcc: someone@elsewhere.example',
        email_status: 'valid',
        postal_code: null,
        address: null,
        ward: 'chuo',
        residence_status: 'registered',
      },
      ['child-benefits'],
    );
    await expect(adding).rejects.toBeInstanceOf(InvalidEmailAddressError);
    await expect(adding).rejects.toMatchObject({ field: 'email', message: expect.stringMatching(/^email: contains a line break/) });
    expect(await engine.db.selectFrom('residents').select('id').where('id', '=', id).executeTakeFirst()).toBeUndefined();
    expect(await engine.db.selectFrom('consents').select('resident_id').where('resident_id', '=', id).executeTakeFirst()).toBeUndefined();
  });

  it('does not send to a stored address with an injected header: the email step is skipped with the reason, nothing reaches either address', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const injected = `${resident.email!}\r\nBcc: someone.${resident.id.toLowerCase()}@elsewhere.example`;
    // Around the door, as data from before the check could be.
    await engine.db.updateTable('residents').set({ email: injected }).where('id', '=', resident.id).execute();

    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay: 60_000 }));
    await waitFor('the email step to settle', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status !== 'pending'));
    const email = (await engine.ledger(outreachId)).find((d) => d.channel === 'email')!;
    expect(email.status).toBe('skipped');
    expect(JSON.stringify(email.detail)).toContain('not usable');
    expect(JSON.stringify(email.detail)).not.toContain('elsewhere.example');
    expect(await mailsTo(resident.email!)).toHaveLength(0);
    expect(await mailsTo(`someone.${resident.id.toLowerCase()}@elsewhere.example`)).toHaveLength(0);
    await engine.client.workflow.getHandle(outreachId).signal('respond', { kind: 'acknowledged', via: 'cli' });
    await engine.result(outreachId);
  });
});
