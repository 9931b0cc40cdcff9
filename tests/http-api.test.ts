import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { respondRoutes } from '../service/respond-routes';
import { pushPublicRoutes } from '../service/push-public-routes';
import type { CreatedClient } from '../service/auth/calling-systems';
import { startTestService, type TestService } from './support/test-service';
import type { IntakeResult } from '../engine/intake/accept-life-event';
import type { Locale } from '../store/schema';
import { newResponseToken } from '../engine/outreach/response-links';
import type { OutreachProgress } from '../engine/outreach/outreach-contract';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import { daysAgoInTokyo } from './support/test-dates';
import { TestEngine, mailsTo, outreachIdOf, waitFor, type TestResident } from './support/test-engine';

// Long plan days: after the email the workflow waits (3 "days" = 3 minutes), so answers find it running.
const MS_PER_DAY = 60_000;
let engine: TestEngine;
let svc: TestService;
let registry: CreatedClient;
/** The public listener (residents' pages) and the internal one (/api/v1). */
let publicUrl = '';
let internalUrl = '';

beforeAll(async () => {
  engine = await TestEngine.start();
  svc = await startTestService(engine, { msPerDay: MS_PER_DAY, staffSignIn: true, publicRoutes: [respondRoutes, pushPublicRoutes] });
  registry = await svc.client('event-source');
  publicUrl = svc.service.publicUrl;
  internalUrl = svc.service.internalUrl;
});
afterAll(async () => {
  await svc?.close();
  await engine?.stop();
});

function birthEvent(residentId: string): Record<string, unknown> {
  return { id: `birth-${randomUUID()}`, type: 'birth', residentId, occurredOn: daysAgoInTokyo(3) };
}

/** A life event as the registry sends it: POST /api/v1/events with its signed JWT. */
async function postEvent(body: unknown, headers: Record<string, string> = { 'Content-Type': 'application/json' }, raw?: string): Promise<Response> {
  return fetch(`${internalUrl}/api/v1/events`, {
    method: 'POST',
    headers: { ...headers, Authorization: await svc.bearer(registry) },
    body: raw ?? JSON.stringify(body),
  });
}

function postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${publicUrl}${path}`, { method: 'POST', headers, body: new URLSearchParams(fields) });
}

/** A consented resident whose outreach the API started, waiting after its first email. */
async function outreachThroughApi(locale: Locale = 'ja'): Promise<{ resident: TestResident; outreachId: string }> {
  const resident = await engine.addResident({ consents: ['child-benefits'], locale });
  const response = await postEvent(birthEvent(resident.id));
  expect(response.status).toBe(202);
  const outreachId = outreachIdOf((await response.json()) as IntakeResult);
  await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));
  return { resident, outreachId };
}

async function workflowState(outreachId: string): Promise<OutreachProgress> {
  return engine.client.workflow.getHandle(outreachId).query<OutreachProgress>('status');
}

/**
 * The resident's link for one answer, as their first email prints it: every
 * `/respond/<token>` in the mail is resolved, and the one of `kind` returned.
 * (Tokens are random and stored only as hashes, so the test cannot recompute them.)
 */
async function respondPath(resident: TestResident, outreachId: string, kind: 'acknowledged' | 'applied' | 'not-for-me' | 'stop'): Promise<string> {
  const [mail] = await mailsTo(resident.email!, outreachId);
  const tokens = [...new Set([...(mail?.text ?? '').matchAll(/\/respond\/([A-Za-z0-9_-]{43})/g)].map((m) => m[1]!))];
  for (const token of tokens) {
    if ((await engine.context.links.resolve(token))?.kind === kind) return `/respond/${token}`;
  }
  throw new Error(`the first email of ${outreachId} has no ${kind} link`);
}

describe('POST /events', () => {
  it('accepts a birth for a consented resident with 202 and starts one outreach', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const response = await postEvent(birthEvent(resident.id));

    expect(response.status).toBe(202);
    const result = (await response.json()) as IntakeResult;
    expect(result.duplicate).toBe(false);
    expect(result.matches).toContainEqual(
      expect.objectContaining({ ruleId: 'child-allowance', ruleVersion: 2, result: expect.objectContaining({ decision: 'outreach', start: 'started' }) }),
    );
    const outreachId = outreachIdOf(result);
    await waitFor('the email', async () => (await engine.ledger(outreachId)).some((d) => d.channel === 'email' && d.status === 'sent'));
    expect((await workflowState(outreachId)).state).toBe('running');
    await engine.client.workflow.getHandle(outreachId).signal('respond', { kind: 'acknowledged', via: 'cli' });
    await engine.result(outreachId);
  });

  it.each([
    ['a wrong type', (e: Record<string, unknown>) => ({ ...e, residentId: 42 }), 'residentId'],
    ['an unknown event type', (e: Record<string, unknown>) => ({ ...e, type: 'wedding' }), 'type'],
    ['a missing id', ({ id: _id, ...rest }: Record<string, unknown>) => rest, 'id'],
    ['a date that is not a calendar date', (e: Record<string, unknown>) => ({ ...e, occurredOn: '2026-02-30' }), 'occurredOn'],
    ['a date in another format', (e: Record<string, unknown>) => ({ ...e, occurredOn: '20/11/2026' }), 'occurredOn'],
    ['an extra field', (e: Record<string, unknown>) => ({ ...e, priority: 'high' }), 'priority'],
  ])('refuses an event with %s with 400 naming the field', async (_what, mutate, field) => {
    const response = await postEvent(mutate(birthEvent('T-nobody')));

    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; problems: string[] };
    expect(body.error).toBe('invalid request body');
    expect(body.problems.some((p) => p.includes(field))).toBe(true);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
  });

  it('refuses malformed JSON with 400, other media types with 415 and bodies over 64 KiB with 413', async () => {
    const malformed = await postEvent(null, { 'Content-Type': 'application/json' }, '{"id": ');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: 'invalid JSON' });

    const text = await postEvent(birthEvent('T-x'), { 'Content-Type': 'text/plain' });
    expect(text.status).toBe(415);

    const big = { ...birthEvent('T-x'), payload: { note: 'x'.repeat(70 * 1024) } };
    const tooLarge = await postEvent(big);
    expect(tooLarge.status).toBe(413);
  });

  it('takes a repeated event once, and refuses its id for a different event with 409, writing nothing', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const event = birthEvent(resident.id);
    const first = await postEvent(event);
    expect(first.status).toBe(202);
    const outreachId = outreachIdOf((await first.json()) as IntakeResult);
    const decisions = async () =>
      (await engine.audit(resident.id))
        .map((a) => a.action)
        .filter((a) => ['event-received', 'rule-not-matched', 'not-contacted', 'outreach-started'].includes(a));
    const trail = await decisions();
    expect(trail[0]).toBe('event-received');
    expect(trail).toContain('outreach-started');

    const again = await postEvent(event);
    expect(again.status).toBe(202);
    const repeated = (await again.json()) as IntakeResult;
    expect(repeated.duplicate).toBe(true);
    expect(repeated.matches).toContainEqual(expect.objectContaining({ result: { decision: 'outreach', outreachId, start: 'already-started' } }));

    const reused = await postEvent({ ...event, occurredOn: daysAgoInTokyo(4) });
    expect(reused.status).toBe(409);
    expect(await reused.json()).toEqual({
      error: 'event id already used for a different event',
      problems: [expect.stringMatching(/^occurredOn: differs from the event first received under id /)],
    });

    // Neither the repeat nor the refused reuse left a trace of its own.
    expect(await decisions()).toEqual(trail);
    expect(
      await engine.db
        .selectFrom('life_events')
        .select('occurred_on')
        .where('id', '=', event.id as string)
        .execute(),
    ).toEqual([{ occurred_on: event.occurredOn }]);
    await engine.client.workflow.getHandle(outreachId).signal('respond', { kind: 'acknowledged', via: 'cli' });
    await engine.result(outreachId);
  });

  it('refuses an event for a resident not in the register with 422', async () => {
    const response = await postEvent(birthEvent(`T-unknown-${randomUUID().slice(0, 8)}`));

    expect(response.status).toBe(422);
    const body = (await response.json()) as { problems: string[] };
    expect(body.problems).toEqual([expect.stringMatching(/^residentId: no resident T-unknown-/)]);
  });
});

describe('response links', () => {
  it('GET shows the notice in Japanese with one button to confirm, and records nothing', async () => {
    const { resident, outreachId } = await outreachThroughApi('ja');
    const path = await respondPath(resident, outreachId, 'applied');

    const response = await fetch(`${publicUrl}${path}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'.*form-action 'self'/);
    const html = await response.text();
    expect(html).toContain('<html lang="ja">');
    expect(html).toContain('<h1>児童手当の申請のご案内</h1>');
    expect(html).toContain('<form method="post">');
    expect(html.match(/class="primary"/g)).toHaveLength(1);
    expect(html).toMatch(/<button type="submit" name="kind" value="applied" class="primary">「申請しました」と回答する<\/button>/);
    expect(html.match(/class="secondary"/g)).toHaveLength(3);
    expect(html).not.toContain('<script');
    // No personal data on a page whose link may be forwarded.
    expect(html).not.toContain(resident.familyName);
    expect(html).not.toContain(resident.id);

    expect((await workflowState(outreachId)).state).toBe('running');
    const row = await engine.db.selectFrom('outreach').selectAll().where('id', '=', outreachId).executeTakeFirstOrThrow();
    expect([row.status, row.response]).toEqual(['active', null]);
    expect((await engine.audit(resident.id)).map((a) => a.action)).not.toContain('response-received');

    // Clean up: answer so the workflow ends.
    expect((await postForm(path, {})).status).toBe(200);
    await engine.result(outreachId);
  });

  it('POST records the answer and thanks the resident; a second POST says the outreach already ended', async () => {
    const { resident, outreachId } = await outreachThroughApi('ja');
    const path = await respondPath(resident, outreachId, 'applied');

    const first = await postForm(path, {});
    expect(first.status).toBe(200);
    const thanks = await first.text();
    expect(thanks).toContain('<html lang="ja">');
    expect(thanks).toContain('ご回答ありがとうございました');
    expect(thanks).toContain('「申請しました」と記録しました');
    expect(first.headers.get('cache-control')).toBe('no-store');

    const status = await engine.result(outreachId);
    expect(status.state).toBe('responded');
    expect(status.response).toBe('applied');
    const received = (await engine.audit(resident.id)).find((a) => a.action === 'response-received');
    expect(received).toMatchObject({ actor: `resident:${resident.id}`, outreach_id: outreachId, detail: { response: 'applied', via: 'link' } });

    const second = await postForm(path, {});
    expect(second.status).toBe(409);
    const ended = await second.text();
    expect(ended).toContain('このお知らせは終了しています');
    expect(ended).toContain('すでに回答をいただいています（回答：「申請しました」）');

    const asJson = await postForm(path, {}, { Accept: 'application/json' });
    expect(asJson.status).toBe(409);
    expect(await asJson.json()).toEqual({ outcome: 'already-ended', state: 'responded', response: 'applied' });

    // Opening the link again shows how it ended, with nothing to press.
    const reopened = await (await fetch(`${publicUrl}${path}`)).text();
    expect(reopened).toContain('このお知らせは終了しています');
    expect(reopened).not.toContain('<button');
    expect((await engine.audit(resident.id)).filter((a) => a.action === 'response-received')).toHaveLength(1);
  });

  it('takes another answer chosen on the page, and answers JSON clients in JSON (English resident)', async () => {
    const { resident, outreachId } = await outreachThroughApi('en');
    const path = await respondPath(resident, outreachId, 'acknowledged');

    const page = await (await fetch(`${publicUrl}${path}`)).text();
    expect(page).toContain('<html lang="en">');
    expect(page).toContain('How to apply for the child allowance');
    expect(page).toContain('>Answer: I have read this</button>');

    const response = await postForm(path, { kind: 'not-for-me' }, { Accept: 'application/json' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ outcome: 'accepted', response: 'not-for-me' });
    const status = await engine.result(outreachId);
    expect([status.state, status.response]).toEqual(['responded', 'not-for-me']);
  });

  it('refuses an answer that is not one of the four, in the resident’s language (やさしい日本語)', async () => {
    const { resident, outreachId } = await outreachThroughApi('ja-easy');
    const path = await respondPath(resident, outreachId, 'applied');

    const page = await (await fetch(`${publicUrl}${path}`)).text();
    expect(page).toContain('<html lang="ja-easy">');
    expect(page).toContain('こどもの ための おかね（児童手当）の もうしこみ');

    const refused = await postForm(path, { kind: 'maybe' });
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html).toContain('<html lang="ja-easy">');
    expect(html).toContain('この こたえは うけつけ できません');
    expect((await workflowState(outreachId)).state).toBe('running');

    const thanks = await postForm(path, { kind: 'acknowledged' });
    expect(thanks.status).toBe(200);
    expect(await thanks.text()).toContain('「よみました」と きろく しました');
    expect((await engine.result(outreachId)).response).toBe('acknowledged');
  });

  it('answers a forged or mangled token with 404 and records nothing', async () => {
    const { resident, outreachId } = await outreachThroughApi('ja');
    const genuine = (await engine.context.links.issueTokens(outreachId)).applied;
    const forged = [
      newResponseToken(),
      `${genuine.slice(0, -1)}${genuine.endsWith('A') ? 'B' : 'A'}`,
      `${genuine}.trailing`,
      genuine.slice(0, 20),
      'not-a-token',
    ];
    for (const token of forged) {
      const page = await fetch(`${publicUrl}/respond/${token}`);
      expect(page.status).toBe(404);
      expect(await page.text()).toContain('このリンクは使えません');
      expect((await postForm(`/respond/${token}`, {})).status).toBe(404);
    }
    expect((await workflowState(outreachId)).state).toBe('running');
    expect((await engine.audit(resident.id)).map((a) => a.action)).not.toContain('response-received');

    expect((await postForm(`/respond/${genuine}`, {})).status).toBe(200);
    await engine.result(outreachId);
  });
});

describe('push', () => {
  // Enrolment, the endpoint policy and the device cap: tests/push-enrolment.test.ts.
  it('gives out the VAPID public key on the public listener', async () => {
    const response = await fetch(`${publicUrl}/push/vapid-public-key`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ publicKey: engine.context.vapid.publicKey });
  });
});

describe('the rest', () => {
  it('answers /healthz and /readyz on both listeners, and unknown paths or methods with 404', async () => {
    for (const base of [publicUrl, internalUrl]) {
      const health = await fetch(`${base}/healthz`);
      expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
      const ready = await fetch(`${base}/readyz`);
      expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready', database: true, temporal: true }]);
      expect((await fetch(`${base}/nothing-here`)).status).toBe(404);
    }
    // The internal API is not on the public listener at all.
    expect((await fetch(`${publicUrl}/api/v1/events`, { method: 'POST' })).status).toBe(404);
    const wrongMethod = await fetch(`${internalUrl}/api/v1/events`);
    expect([wrongMethod.status, await wrongMethod.json()]).toEqual([404, { error: 'not found' }]);
  });

  it('sends security headers and no-store on every answer', async () => {
    const response = await fetch(`${publicUrl}/healthz`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
  });
});

describe('GET /api/v1/rules/:rule/explain/:resident (a caseworker of the resident’s ward)', () => {
  const asCaseworker = async () => ({ Cookie: (await svc.signIn('caseworker-chuo')).cookie });
  it('explains a match and the consent gate as JSON', async () => {
    const consented = await engine.addResident({ consents: ['child-benefits'] });
    const response = await fetch(`${internalUrl}/api/v1/rules/child-allowance/explain/${consented.id}?date=${todayInTokyo()}`, {
      headers: await asCaseworker(),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      wouldContact: boolean;
      evaluation: { matched: boolean; occurrences: Array<{ explanation: { kind: string } }> };
      event: { supposed: boolean };
      consent: { granted: boolean };
    };
    expect(body.evaluation.matched).toBe(true);
    expect(body.event.supposed).toBe(true);
    expect(body.consent.granted).toBe(true);
    expect(body.wouldContact).toBe(true);
    expect(body.evaluation.occurrences[0]!.explanation.kind).toBe('all');
  });

  it('answers unknown rules and residents with 404 and a bad date with 400', async () => {
    const headers = await asCaseworker();
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    expect((await fetch(`${internalUrl}/api/v1/rules/no-such-rule/explain/${resident.id}`, { headers })).status).toBe(404);
    expect((await fetch(`${internalUrl}/api/v1/rules/child-allowance/explain/NO-SUCH-RESIDENT`, { headers })).status).toBe(404);
    const bad = await fetch(`${internalUrl}/api/v1/rules/child-allowance/explain/X?date=2026-02-30`, { headers });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: string; problems: string[] };
    expect(body.error).toBe('invalid request querystring');
    expect(body.problems).toEqual([expect.stringMatching(/^date: /)]);
  });
});
