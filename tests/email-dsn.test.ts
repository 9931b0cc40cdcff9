import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DsnParseError, parseDsn } from '../channels/dsn-parser';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', 'dsn', name));
const TOKEN = '0123456789abcdef0123456789abcdef';

describe('delivery status notification parser', () => {
  it('reads a Postfix bounce: recipient, action, status, diagnostic, and what identifies our message', () => {
    const report = parseDsn(fixture('postfix-user-unknown.eml'));
    expect(report).toEqual({
      reportMessageId: '<20261124001403.4Zk9Q21Lm7z9sWp@mx1.city.example.jp>',
      reportingMta: 'mx1.city.example.jp',
      envelopeId: null,
      originalMessageIds: [`<${TOKEN}@oshirase.invalid>`],
      deliveryTokens: [TOKEN],
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
    expect(report.recipients).toEqual([expect.objectContaining({ finalRecipient: 'Resident@Residents.Example', action: 'failed', status: '5.2.2', statusClass: 'permanent' })]);
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
    const reason = (raw: Buffer | string) => {
      try {
        parseDsn(raw);
        return 'parsed';
      } catch (error) {
        expect(error).toBeInstanceOf(DsnParseError);
        return (error as Error).message;
      }
    };
    expect(reason(fixture('not-a-report-auto-reply.eml'))).toBe('not a delivery status notification: the message is text/plain, not multipart/report; report-type=delivery-status');
    expect(reason(fixture('broken-no-status.eml'))).toBe('recipient resident@residents.example: no Status field');
    const badStatus = fixture('broken-no-status.eml').toString().replace('Action: failed', 'Action: failed\r\nStatus: bounced');
    expect(reason(badStatus)).toBe('recipient resident@residents.example: Status "bounced" is not a status code like 5.1.1');
    expect(reason(badStatus.replace('Action: failed', 'Action: returned'))).toBe('recipient resident@residents.example: Action "returned" is not one of failed, delayed, delivered, relayed, expanded');
    expect(reason('')).toBe('the message is empty');
    expect(reason('just some text\nwithout headers')).toBe('not an email message: no header fields at the start');
    const noRecipient = fixture('broken-no-status.eml').toString().replace(/Final-Recipient[^\n]*\n/, '');
    expect(reason(noRecipient)).toBe('the delivery-status part names no recipient (no Final-Recipient field)');
    for (const message of [reason(fixture('broken-no-status.eml')), reason(noRecipient)]) expect(message).not.toContain('\n');
  });
});
