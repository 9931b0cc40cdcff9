// TTL, urgency and topic of a push (channels/push/push-policy.ts) and VAPID keys
// from the environment (channels/push/push-config.ts): pure functions, no services.
import { createECDH } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/engine-config';
import { resolveVapidKeys } from '../channels/push/push-config';
import { MAX_TTL_SECONDS, MIN_TTL_SECONDS, pushPolicyFor, pushTopicFor, retryDelayMs, type PushPolicyInput } from '../channels/push/push-policy';
import { generateVapidKeys, type VapidKeys } from '../channels/push/web-push';
import type { PlanStep } from '../engine/rule-language/rule-schema';

const DAY = 86_400_000;
const started = new Date('2026-05-10T01:00:00Z'); // 10:00 in Tokyo, 10 May
const childAllowancePlan: PlanStep[] = [{ send: 'email' }, { wait: { days: 3 } }, { send: 'push' }, { waitUntil: { deadline: -5 } }, { send: 'letter' }];

function input(overrides: Partial<PushPolicyInput> & { at?: number } = {}): PushPolicyInput {
  return {
    rule: { id: 'child-allowance', outreach: childAllowancePlan, deadline: { days: 15 } },
    stepIndex: 2,
    outreach: { started_at: started, trigger_date: '2026-05-09' },
    msPerDay: DAY,
    now: new Date(started.getTime() + (overrides.at ?? 3) * DAY),
    ...overrides,
  };
}

describe('push policy', () => {
  it('keeps the notice until the next send of the plan (the reminder letter), urgency normal with the deadline 11 days away', () => {
    // Deadline: 9 May + 15 = 24 May = plan day 14; the letter waits until day 9; the push goes on day 3.
    expect(pushPolicyFor(input())).toEqual({ ttlSeconds: 6 * 86_400, urgency: 'normal', topic: 'child-allowance' });
  });

  it('is high urgency within 3 days of the deadline, and the deadline caps the TTL', () => {
    const plan: PlanStep[] = [{ send: 'push' }, { wait: { days: 10 } }, { send: 'letter' }];
    const policy = pushPolicyFor(input({ rule: { id: 'r', outreach: plan, deadline: { days: 15 } }, stepIndex: 0, at: 12 }));
    expect(policy).toEqual({ ttlSeconds: 2 * 86_400, urgency: 'high', topic: 'r' });
  });

  it('is high urgency when the deadline passed before the outreach began, and then only the plan bounds the TTL', () => {
    const policy = pushPolicyFor(input({ outreach: { started_at: started, trigger_date: '2026-04-01' }, at: 0 }));
    // The workflow skips deadline waits without a deadline: the letter follows at once, so the floor applies.
    expect(policy).toMatchObject({ urgency: 'high', ttlSeconds: MIN_TTL_SECONDS });
  });

  it('is low urgency without a deadline when the notice can wait a day, normal when it cannot', () => {
    const plan: PlanStep[] = [{ send: 'push' }, { wait: { days: 4 } }, { send: 'letter' }, { wait: { days: 14 } }, { task: 'no-response' }];
    expect(pushPolicyFor(input({ rule: { id: 'checkup', outreach: plan }, stepIndex: 0 }))).toEqual({
      ttlSeconds: 4 * 86_400,
      urgency: 'low',
      topic: 'checkup',
    });
    const soon: PlanStep[] = [{ send: 'push' }, { wait: { days: 0.5 } }, { send: 'letter' }];
    expect(pushPolicyFor(input({ rule: { id: 'checkup', outreach: soon }, stepIndex: 0 }))).toMatchObject({ ttlSeconds: 43_200, urgency: 'normal' });
  });

  it('clamps the TTL to at least 1 hour and at most 4 weeks', () => {
    const last: PlanStep[] = [{ send: 'email' }, { wait: { days: 2 } }, { send: 'push' }];
    expect(pushPolicyFor(input({ rule: { id: 'r', outreach: last }, stepIndex: 2 })).ttlSeconds).toBe(MAX_TTL_SECONDS);
    const long: PlanStep[] = [{ send: 'push' }, { wait: { days: 60 } }, { send: 'letter' }];
    expect(pushPolicyFor(input({ rule: { id: 'r', outreach: long }, stepIndex: 0 })).ttlSeconds).toBe(MAX_TTL_SECONDS);
    const next: PlanStep[] = [{ send: 'push' }, { send: 'letter' }];
    expect(pushPolicyFor(input({ rule: { id: 'r', outreach: next }, stepIndex: 0 })).ttlSeconds).toBe(MIN_TTL_SECONDS);
  });

  it('counts plan days of the outreach clock, so a demo day of 1 s gives the floor', () => {
    expect(pushPolicyFor(input({ msPerDay: 1000, now: new Date(started.getTime() + 3000) }))).toMatchObject({ ttlSeconds: MIN_TTL_SECONDS, urgency: 'normal' });
  });

  it('gives each rule a stable topic of at most 32 base64url characters', () => {
    expect(pushTopicFor('child-allowance')).toBe('child-allowance');
    const long = pushTopicFor('national-health-insurance-job-loss');
    expect(long).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(long).toHaveLength(32);
    expect(long.startsWith('national-health-insu_')).toBe(true);
    expect(pushTopicFor('national-health-insurance-job-loss')).toBe(long);
    expect(pushTopicFor('national-health-insurance-job-lost')).not.toBe(long);
  });

  it('waits at least Retry-After, and never less than the backoff it replaces', () => {
    const policy = { initialIntervalMs: 2000, backoffCoefficient: 2, maximumIntervalMs: 300_000 };
    expect(retryDelayMs(4, 1, policy)).toBe(4000);
    expect(retryDelayMs(1, 3, policy)).toBe(8000);
    expect(retryDelayMs(0, 20, policy)).toBe(300_000);
  });
});

describe('VAPID keys from the environment', () => {
  const subject = 'mailto:notices@city.example';
  const storedKeys = generateVapidKeys('mailto:first-run@city.example');
  const stored = async (): Promise<VapidKeys> => storedKeys;
  const pair = () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    // getPrivateKey drops leading zero bytes (one key in 256); key tools such as web-push pad to 32.
    const privateKey = ecdh.getPrivateKey();
    return {
      publicKey: ecdh.getPublicKey().toString('base64url'),
      privateKey: Buffer.concat([Buffer.alloc(32 - privateKey.length), privateKey]).toString('base64url'),
    };
  };

  const envPair = () => {
    const keys = pair();
    return { VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey };
  };

  it('uses the stored keys when none are configured, with the subject of the current configuration', async () => {
    expect(await resolveVapidKeys({}, stored, subject)).toEqual({ keys: { ...storedKeys, subject }, source: 'database' });
    expect(await resolveVapidKeys({ VAPID_PUBLIC_KEY: ' ', VAPID_PRIVATE_KEY: '' }, stored, subject)).toMatchObject({ source: 'database' });
  });

  it('prefers a configured key pair and never touches the stored keys then', async () => {
    const keys = pair();
    let loaded = false;
    const resolved = await resolveVapidKeys(
      { VAPID_PUBLIC_KEY: `${keys.publicKey}\n`, VAPID_PRIVATE_KEY: keys.privateKey },
      async () => ((loaded = true), storedKeys),
      subject,
    );
    expect(resolved).toEqual({ keys: { ...keys, subject }, source: 'environment' });
    expect(loaded).toBe(false);
  });

  it('accepts padded base64url and keys made by web-push', async () => {
    const made = generateVapidKeys(subject);
    const padded = { VAPID_PUBLIC_KEY: `${made.publicKey}=`, VAPID_PRIVATE_KEY: made.privateKey };
    expect((await resolveVapidKeys(padded, stored, subject)).keys).toEqual(made);
  });

  it.each([
    ['only one key', () => ({ VAPID_PUBLIC_KEY: pair().publicKey }), /VAPID_PRIVATE_KEY: missing; set both/],
    ['standard base64', () => ({ ...envPair(), VAPID_PUBLIC_KEY: `${pair().publicKey.slice(0, 80)}+/` }), /VAPID_PUBLIC_KEY: must be base64url/],
    [
      'a compressed public key',
      () => ({ ...envPair(), VAPID_PUBLIC_KEY: Buffer.alloc(33, 2).toString('base64url') }),
      /VAPID_PUBLIC_KEY: must be an uncompressed P-256 public key \(65 bytes starting 0x04\), got 33 bytes/,
    ],
    [
      'a short private key',
      () => ({ ...envPair(), VAPID_PRIVATE_KEY: Buffer.alloc(31, 1).toString('base64url') }),
      /VAPID_PRIVATE_KEY: must be a P-256 private key of 32 bytes, got 31 bytes/,
    ],
    [
      'a private key of zero',
      () => ({ ...envPair(), VAPID_PRIVATE_KEY: Buffer.alloc(32).toString('base64url') }),
      /VAPID_PRIVATE_KEY: not a valid P-256 private key/,
    ],
    [
      'keys of two different pairs',
      () => ({ VAPID_PUBLIC_KEY: pair().publicKey, VAPID_PRIVATE_KEY: pair().privateKey }),
      /VAPID_PUBLIC_KEY: does not belong to VAPID_PRIVATE_KEY/,
    ],
  ])('refuses %s with a ConfigError naming the variable', async (_name, env, message) => {
    const attempt = resolveVapidKeys(env(), stored, subject);
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(resolveVapidKeys(env(), stored, subject)).rejects.toThrow(message);
  });

  it('refuses a subject that is not a mailto: or https: URL', async () => {
    await expect(resolveVapidKeys({}, stored, 'notices@city.example')).rejects.toThrow(/VAPID_SUBJECT: must be a mailto: or https: URL/);
  });
});
