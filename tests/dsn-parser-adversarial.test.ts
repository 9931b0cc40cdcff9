/**
 * The bounce parser faces whoever can reach the bounce route: it must take time
 * linear in its input whatever the input holds. Each body below is 2 MB (eight
 * times the route's limit; the CLI reads files up to 20 MB) and shaped after a
 * pattern that made the previous regular-expression parser backtrack or copy
 * quadratically (a 40 KB report took 2.3 s, 80 KB 17.8 s). Each must be parsed or
 * refused with InvalidBounceError within 200 ms; the parser takes a few
 * milliseconds for each, so the ceiling leaves room for a loaded machine.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DsnParseError, parseDsn } from '../channels/email/dsn-parser';
import { InvalidBounceError, readBounceReport } from '../channels/email/email-bounces';

const TWO_MB = 2 * 1024 * 1024;
const CEILING_MS = 200;

/** `unit` repeated to exactly 2 MB. */
const fill = (unit: string, size = TWO_MB) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
const reportHead = (boundary = 'b') =>
  `From: postmaster@residents.example\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"\r\n\r\n`;
const statusPart =
  'Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.residents.example\r\n\r\nFinal-Recipient: rfc822; someone@residents.example\r\nAction: failed\r\nStatus: 5.1.1\r\n';
const validReport = (returned: string) =>
  `${reportHead()}--b\r\n${statusPart}\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <0123456789abcdef0123456789abcdef@oshirase.invalid>\r\n\r\n${returned}\r\n--b--\r\n`;

const ADVERSARIAL: Array<[string, string]> = [
  // Folded over 900 lines, the field is 60 KB of "a@" for the Message-ID scan, then 2 MB of returned body.
  [
    'a returned Message-ID of "<a@a@a@…" (quadratic for the old pattern)',
    validReport(fill('x')).replace('Message-ID: <0123', `Message-ID: <${fill(`${fill('a@', 64)}\r\n `, 900 * 67)}a@<0123`),
  ],
  ['one header line of spaces and no colon', `a${fill(' ')}`],
  ['one 2 MB header line of letters', fill('a')],
  ['2 MB of line breaks', fill('\n')],
  ['2 MB of CRLF after one field', `X: y\r\n${fill('\r\n')}`],
  ['a field folded over a million continuation lines', `Subject: x\n${fill(' y\n')}`],
  ['the same field name 400,000 times', fill('X-Dup: y\n')],
  ['a Content-Type of semicolons', `Content-Type: multipart/report${fill(';')}`],
  ['a Content-Type of "=" signs', `Content-Type: multipart/report; a${fill('=')}`],
  ['a Content-Type of backslashes in an open quote', `Content-Type: multipart/report; boundary="${fill('\\')}`],
  ['a body of delimiter lines (parts)', `${reportHead()}${fill('--b\r\n')}`],
  ['a body of lines that start like the delimiter', `${reportHead()}${fill('--bx\r\n')}`],
  ['a 70-dash boundary in a body of dashes', `${reportHead('-'.repeat(70))}${fill('-')}`],
  ['a 70-dash boundary, lines of 71 dashes', `${reportHead('-'.repeat(70))}${fill(`${'-'.repeat(71)}\n`)}`],
  ['a body of blank lines of blanks', `${reportHead()}${fill('\n \t')}`],
  [
    'a quoted-printable status part of "=4"',
    `${reportHead()}--b\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${fill('=4')}\r\n--b--\r\n`,
  ],
  [
    'a base64 status part',
    `${reportHead()}--b\r\nContent-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n${fill('QUFB\r\n')}\r\n--b--\r\n`,
  ],
  ['a status part of empty groups', `${reportHead()}--b\r\nContent-Type: message/delivery-status\r\n\r\n${fill('X: y\r\n\r\n')}`],
  ['multiparts nested in multiparts', fill('Content-Type: multipart/mixed; boundary="b"\n\n--b\n')],
  ['a valid report returning a 2 MB message of "<a@"', validReport(fill('<a@'))],
  ['a valid report returning 2 MB of tabs', validReport(fill('\t'))],
  ['a report with a million "+" in its To field', `To: ${fill('+', 990)}\r\n${fill('To: bounces+0123456789abcdef0123456789abcdef+@x\r\n')}`],
];

function outcome(raw: Buffer): 'parsed' | InvalidBounceError {
  try {
    readBounceReport(raw);
    return 'parsed';
  } catch (error) {
    if (error instanceof InvalidBounceError) return error;
    throw error;
  }
}

describe('the bounce parser on adversarial input', () => {
  // Compiles the parser's code paths once, so the first timed body does not pay for it.
  outcome(Buffer.from(validReport('warm-up')));

  it.each(ADVERSARIAL)('%s: parsed or refused within 200 ms', (_, text) => {
    const raw = Buffer.from(text);
    expect(raw.length).toBeGreaterThanOrEqual(TWO_MB);
    const started = performance.now();
    const result = outcome(raw);
    const elapsed = performance.now() - started;
    expect(result === 'parsed' || result instanceof InvalidBounceError).toBe(true);
    if (result !== 'parsed') expect(result.message).not.toContain('\n');
    expect(elapsed).toBeLessThan(CEILING_MS);
  });

  it('a valid report padded to 2 MB is still read correctly', () => {
    const report = parseDsn(Buffer.from(validReport(fill('<a@'))));
    expect(report.recipients).toEqual([expect.objectContaining({ finalRecipient: 'someone@residents.example', status: '5.1.1', action: 'failed' })]);
    expect(report.originalMessageIds).toEqual(['<0123456789abcdef0123456789abcdef@oshirase.invalid>']);
  });

  it('random bytes up to 64 KB never throw anything but DsnParseError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 * 1024 }), (bytes) => {
        try {
          parseDsn(Buffer.from(bytes));
        } catch (error) {
          if (!(error instanceof DsnParseError)) throw error;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('messages built from report fragments never throw anything but InvalidBounceError, and refuse in one line', () => {
    // Pieces of real reports, shuffled and repeated, reach deeper into the parser than random bytes do.
    const fragment = fc.oneof(
      fc.constantFrom(
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n',
        'Content-Type: message/delivery-status\r\n',
        'Content-Type: message/global-delivery-status\r\n',
        'Content-Type: text/rfc822-headers\r\n',
        'Content-Type: multipart/mixed; boundary=b\r\n',
        'Content-Transfer-Encoding: base64\r\n',
        'Content-Transfer-Encoding: quoted-printable\r\n',
        '--b\r\n',
        '--b--\r\n',
        '\r\n',
        '\n',
        ' \t',
        'Final-Recipient: rfc822; a@b.example\r\n',
        'Final-Recipient: utf-8; a\\x{FFFFFF}@b.example\r\n',
        'Original-Recipient: utf-8; \\x{3042}@b.example\r\n',
        'Action: failed\r\n',
        'Action: delayed (retrying)\r\n',
        'Status: 5.1.1\r\n',
        'Status: 4.04.001\r\n',
        'Status: 5.1\r\n',
        'Original-Envelope-Id: +2B+ZZ0123456789abcdef0123456789abcdef\r\n',
        'Message-ID: <0123456789abcdef0123456789abcdef@oshirase.invalid>\r\n',
        'X-Oshirase-Delivery: 0123456789ABCDEF0123456789ABCDEF\r\n',
        'To: bounces+0123456789abcdef0123456789abcdef@city.example\r\n',
        '=\r\n',
        '=4',
        '=ZZ',
        '<a@',
        '"',
        '\\',
        ';',
        '\uFEFF',
        'From x\n',
      ),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
    );
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 400 }), (pieces) => {
        const raw = Buffer.from(pieces.join('')).subarray(0, 64 * 1024);
        const result = outcome(raw);
        if (result !== 'parsed') expect(result.message).not.toContain('\n');
      }),
      { numRuns: 500 },
    );
  });
});
