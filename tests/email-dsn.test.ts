import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DsnParseError, parseDsn } from '../channels/email/dsn-parser';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', 'dsn', name));
const TOKEN = '0123456789abcdef0123456789abcdef';

/** 'parsed', or the one-line reason parseDsn gives for refusing the message. */
function reason(raw: Buffer | string): string {
  try {
    parseDsn(raw);
    return 'parsed';
  } catch (error) {
    expect(error).toBeInstanceOf(DsnParseError);
    return (error as Error).message;
  }
}

describe('delivery status notification parser', () => {
  it('reads a Postfix bounce: recipient, action, status, diagnostic, and what identifies our message', () => {
    const report = parseDsn(fixture('postfix-user-unknown.eml'));
    expect(report).toEqual({
      reportMessageId: '<20261124001403.4Zk9Q21Lm7z9sWp@mx1.city.example.jp>',
      reportingMta: 'mx1.city.example.jp',
      envelopeId: null,
      originalMessageIds: [`<${TOKEN}@oshirase.invalid>`],
      deliveryTokens: [TOKEN],
      returnPathTokens: [],
      recipients: [
        {
          finalRecipient: 'resident@residents.example',
          originalRecipient: 'resident@residents.example',
          action: 'failed',
          status: '5.1.1',
          statusClass: 'permanent',
          diagnosticCode: '550 5.1.1 <resident@residents.example>: Recipient address rejected: User unknown in virtual mailbox table',
          remoteMta: 'mx.residents.example',
        },
      ],
    });
  });

  it('reads an Exchange report: base64 status part, the whole original message returned', () => {
    const report = parseDsn(fixture('exchange-mailbox-full.eml'));
    expect(report.recipients).toEqual([
      expect.objectContaining({ finalRecipient: 'Resident@Residents.Example', action: 'failed', status: '5.2.2', statusClass: 'permanent' }),
    ]);
    expect(report.originalMessageIds).toEqual([`<${TOKEN}@oshirase.invalid>`]);
    expect(report.deliveryTokens).toEqual([]);
    expect(report.reportingMta).toBe('EXCH02.residents.example');
  });

  it('reads a delay warning identified only by the envelope id', () => {
    const report = parseDsn(fixture('sendmail-delayed.eml'));
    expect(report.envelopeId).toBe(TOKEN);
    expect(report.originalMessageIds).toEqual([]);
    expect(report.recipients).toEqual([expect.objectContaining({ action: 'delayed', status: '4.4.1', statusClass: 'transient' })]);
  });

  it('says in one line why something is not a bounce', () => {
    expect(reason(fixture('not-a-report-auto-reply.eml'))).toBe(
      'not a delivery status notification: the message is text/plain, not multipart/report; report-type=delivery-status',
    );
    expect(reason(fixture('broken-no-status.eml'))).toBe('recipient 1: no Status field');
    const badStatus = fixture('broken-no-status.eml').toString().replace('Action: failed', 'Action: failed\r\nStatus: bounced');
    expect(reason(badStatus)).toBe('recipient 1: Status "bounced" is not a status code like 5.1.1');
    expect(reason(badStatus.replace('Action: failed', 'Action: returned'))).toBe(
      'recipient 1: Action "returned" is not one of failed, delayed, delivered, relayed, expanded',
    );
    expect(reason('')).toBe('the message is empty');
    expect(reason('just some text\nwithout headers')).toBe('not an email message: no header fields at the start');
    const noRecipient = fixture('broken-no-status.eml')
      .toString()
      .replace(/Final-Recipient[^\n]*\n/, '');
    expect(reason(noRecipient)).toBe('the delivery-status part names no recipient (no Final-Recipient field)');
    for (const message of [reason(fixture('broken-no-status.eml')), reason(noRecipient)]) expect(message).not.toContain('\n');
    // Errors name a recipient by its place in the report: no address (personal data) in an error text.
    expect(reason(badStatus.replace('Final-Recipient: rfc822; resident@residents.example', 'Final-Recipient: rfc822; nobody'))).toBe(
      'recipient 1: Final-Recipient names no address (expected "rfc822; name@example.jp")',
    );
  });

  it('finds the delivery token in the VERP address the report was returned to', () => {
    const raw = fixture('postfix-user-unknown.eml')
      .toString()
      .replace('To: bounces@city.example.jp', `To: bounces+${TOKEN.toUpperCase()}@city.example.jp\r\nDelivered-To: bounces+${TOKEN}@city.example.jp`);
    expect(parseDsn(raw).returnPathTokens).toEqual([TOKEN]);
    // Not a token: too short, or not followed by "@".
    expect(parseDsn(raw.replaceAll(`+${TOKEN.toUpperCase()}@`, '+abc@').replaceAll(`+${TOKEN}@`, `+${TOKEN}x@`)).returnPathTokens).toEqual([]);
  });

  it('refuses header lines over 998 characters, header blocks over 64 KB, too many parts and too many recipients', () => {
    const postfix = fixture('postfix-user-unknown.eml').toString();
    expect(reason(postfix.replace('Subject: Undelivered', `Subject: ${'x'.repeat(999)} Undelivered`))).toBe(
      'the message: a header line is longer than 998 characters (RFC 5322)',
    );
    expect(reason(postfix.replace('Subject: Undelivered Mail Returned to Sender', `Subject: ${'x'.repeat(989)}`))).toBe('parsed');
    expect(reason(postfix.replace('Subject: Undelivered', `Subject: x${'\n y'.repeat(1_000)}`))).toBe(
      'the message: the header fields have more than 1000 lines',
    );
    expect(reason(postfix.replace('Subject: Undelivered', `Subject: x${`\n ${'y'.repeat(900)}`.repeat(80)}`))).toBe(
      'the message: the header fields are longer than 65536 characters',
    );
    const boundary = '4Zk9Q21Lm7z9sWp.1763943243/mx1.city.example.jp';
    const manyParts = postfix.replace(`--${boundary}--`, `--${boundary}\nContent-Type: text/plain\n\nx\n`.repeat(70) + `--${boundary}--`);
    expect(reason(manyParts)).toBe('the message has more than 64 MIME parts');
    const recipient = 'Final-Recipient: rfc822; resident@residents.example\nAction: failed\nStatus: 5.1.1\n\n';
    expect(reason(postfix.replace('Final-Recipient:', `${recipient.repeat(100)}Final-Recipient:`))).toBe('the report names more than 100 recipients');
    expect(parseDsn(postfix.replace('Final-Recipient:', `${recipient.repeat(99)}Final-Recipient:`)).recipients).toHaveLength(100);
  });
});
