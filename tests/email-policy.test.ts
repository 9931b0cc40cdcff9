import { describe, expect, it } from 'vitest';
import { classifyFailure, withoutAddresses } from '../channels/email/email-answers';
import { CircuitBreaker } from '../channels/email/email-breaker';
import { parseEmailConfig } from '../config/email-config';

const smtpError = (response: string, command: string) =>
  Object.assign(new Error(`failed: ${response}`), { code: 'EENVELOPE', response, responseCode: Number(response.slice(0, 3)), command });

describe('SMTP answers', () => {
  it.each([
    ['550 5.1.1 <a@b.example>: Recipient address rejected: User unknown', 'RCPT TO', 'recipient-invalid'],
    ['550 Requested action not taken: mailbox unavailable', 'RCPT TO', 'recipient-invalid'],
    ['550 5.4.4 Unrouteable address', 'RCPT TO', 'recipient-invalid'],
    ['554 Relay access denied', 'RCPT TO', 'rejected'],
    ['554 5.7.1 <a@b.example>: Relay access denied', 'RCPT TO', 'rejected'],
    ['552 5.2.2 Mailbox full', 'RCPT TO', 'rejected'],
    ['554 5.7.1 Message rejected as spam', 'DATA', 'rejected'],
    ['552 5.3.4 Message size exceeds fixed limit', 'DATA', 'rejected'],
    ['550 5.1.1 Recipient unknown (after DATA)', 'DATA', 'recipient-invalid'],
    ['452 4.3.1 Insufficient system storage', 'RCPT TO', 'temporary'],
    ['421 4.7.0 Try again later, closing connection', 'MAIL FROM', 'temporary'],
    ['503 5.5.1 Bad sequence of commands', 'RCPT TO', 'temporary'],
    ['535 5.7.8 Authentication credentials invalid', 'AUTH PLAIN', 'temporary'],
    ['553 5.7.1 Sender address rejected: not owned by user', 'MAIL FROM', 'temporary'],
  ])('%s at %s → %s', (response, command, outcome) => {
    const answer = classifyFailure('primary', smtpError(response, command));
    expect(answer.outcome).toBe(outcome);
    expect(answer.code).toBe(Number(response.slice(0, 3)));
  });

  it('treats connection failures as temporary and a malformed address as invalid', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ESOCKET', originalCode: 'ECONNREFUSED', command: 'CONN' });
    expect(classifyFailure('primary', refused)).toMatchObject({ outcome: 'temporary', code: null, error: 'ESOCKET/ECONNREFUSED' });
    expect(classifyFailure('primary', Object.assign(new Error('Greeting never received'), { code: 'ETIMEDOUT' })).outcome).toBe('temporary');
    expect(classifyFailure('primary', new Error('something odd')).outcome).toBe('temporary');
    expect(classifyFailure('primary', Object.assign(new Error('Invalid recipient "a@@b"'), { code: 'EENVELOPE', command: 'API' })).outcome).toBe(
      'recipient-invalid',
    );
  });

  it('keeps addresses out of texts bound for Temporal histories', () => {
    expect(withoutAddresses('550 5.1.1 <hanako.1@residents.example>: unknown; to taro@example.jp')).toBe('550 5.1.1 <address>: unknown; to <address>');
  });
});

describe('circuit breaker', () => {
  it('opens after N temporary failures within the window, probes once after the cooldown, closes on success', () => {
    let now = 0;
    const breaker = new CircuitBreaker({ failures: 3, windowMs: 1_000, cooldownMs: 5_000 }, () => now);
    breaker.recordTemporaryFailure();
    now = 2_000; // the first failure falls out of the window
    breaker.recordTemporaryFailure();
    breaker.recordTemporaryFailure();
    expect(breaker.state).toBe('closed');
    breaker.recordTemporaryFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.allowRequest()).toBe(false);
    now += 5_000;
    expect(breaker.state).toBe('half-open');
    expect(breaker.allowRequest()).toBe(true);
    expect(breaker.allowRequest()).toBe(false); // one probe at a time
    breaker.recordTemporaryFailure();
    expect(breaker.state).toBe('open');
    now += 5_000;
    expect(breaker.allowRequest()).toBe(true);
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
    expect(breaker.allowRequest()).toBe(true);
  });

  it('counts failures in a row only: a success in between starts over', () => {
    const breaker = new CircuitBreaker({ failures: 2, windowMs: 60_000, cooldownMs: 1_000 }, () => 0);
    breaker.recordTemporaryFailure();
    breaker.recordSuccess();
    breaker.recordTemporaryFailure();
    expect(breaker.state).toBe('closed');
  });
});

describe('email settings', () => {
  it('reads SMTP_URLS in priority order, names transports, and falls back to SMTP_URL', () => {
    const config = parseEmailConfig({
      SMTP_URLS: 'smtps://user:secret@smtp.city.example.jp:465#city-relay, smtp://127.0.0.1:2526',
      SMTP_RATE_LIMIT: '10',
      SMTP_RATE_DELTA_MS: '2000',
    });
    expect(config.success && config.config.transports).toEqual([
      { name: 'city-relay', url: 'smtps://user:secret@smtp.city.example.jp:465', requireTLS: false },
      { name: '127.0.0.1:2526', url: 'smtp://127.0.0.1:2526', requireTLS: false },
    ]);
    expect(config.success && config.config.pool).toEqual({ maxConnections: 5, maxMessages: 100, rateLimit: 10, rateDeltaMs: 2000 });
    const single = parseEmailConfig({ SMTP_URL: 'smtp://127.0.0.1:2525' });
    expect(single.success && single.config.transports).toEqual([{ name: '127.0.0.1:2525', url: 'smtp://127.0.0.1:2525', requireTLS: false }]);
    expect(single.success && single.config.pool.rateLimit).toBeNull();
  });

  it('requires STARTTLS of every smtp:// server but a loopback relay, unless SMTP_REQUIRE_TLS says otherwise', () => {
    const tls = (env: Record<string, string>) => {
      const parsed = parseEmailConfig(env);
      return parsed.success ? parsed.config.transports.map((t) => [t.name, t.requireTLS]) : parsed.problems;
    };
    // smtps:// is TLS from the first byte; STARTTLS is the question for smtp:// only.
    expect(
      tls({
        SMTP_URLS:
          'smtp://relay.city.example.jp:587#relay, smtp://127.0.0.1:25#local, smtp://localhost:25#named, smtp://[::1]:25#v6, smtps://mx.city.example.jp#tls',
      }),
    ).toEqual([
      ['relay', true],
      ['local', false],
      ['named', false],
      ['v6', false],
      ['tls', false],
    ]);
    expect(tls({ SMTP_URL: 'smtp://relay.city.example.jp:587#relay', SMTP_REQUIRE_TLS: 'false' })).toEqual([['relay', false]]);
    expect(tls({ SMTP_URL: 'smtp://127.0.0.1:25#local', SMTP_REQUIRE_TLS: 'true' })).toEqual([['local', true]]);
    // nodemailer's own URL options would override the setting: refused, naming the entry.
    expect(tls({ SMTP_URL: 'smtp://relay.city.example.jp:587?ignoreTLS=true' })).toEqual([
      'SMTP_URL: entry 1: ignoreTLS in the URL; use smtps:// for TLS from the start, SMTP_REQUIRE_TLS for STARTTLS',
    ]);
    expect(tls({ SMTP_URL: 'smtp://relay.city.example.jp', SMTP_REQUIRE_TLS: 'maybe' })).toEqual([expect.stringMatching(/^SMTP_REQUIRE_TLS: /)]);
  });

  it('names the variable and the entry that is wrong', () => {
    expect(parseEmailConfig({ SMTP_URLS: 'smtp://a.example, http://b.example' })).toEqual({
      success: false,
      problems: ['SMTP_URLS: entry 2: scheme http: is not smtp: or smtps:'],
    });
    expect(parseEmailConfig({ SMTP_URLS: 'smtp://a.example:25, smtp://a.example:25' })).toEqual({
      success: false,
      problems: ['SMTP_URLS: two transports are named "a.example:25" (add #name to tell them apart)'],
    });
    expect(parseEmailConfig({ SMTP_BREAKER_FAILURES: '0' })).toMatchObject({ success: false, problems: [expect.stringMatching(/^SMTP_BREAKER_FAILURES: /)] });
  });
});
