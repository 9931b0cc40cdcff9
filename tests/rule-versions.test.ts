import { afterAll, beforeAll, expect, it } from 'vitest';
import { TestEngine, outreachIdOf, waitFor } from './support/test-engine';
import { registerRules, withdrawRule, publishedRules } from '../engine/rule-language/rule-registry';
import type { Rule } from '../engine/rule-language/rule-schema';
import { stopSignal } from '../engine/outreach/outreach-contract';
import { probeRule } from './support/probe-rule';

// A rule of its own (on marriage), so publishing and withdrawing it touches no other test.
const v1: Rule = probeRule({
  id: 'version-probe',
  title: { ja: '版のテスト', en: 'Version probe', 'ja-easy': 'テスト' },
  purpose: 'relocation',
  trigger: { event: 'marriage' },
  conditions: { all: [{ attribute: 'residence_status', equals: 'registered' }] },
  deadline: { days: 60 },
  outreach: [{ send: 'email' }, { wait: { days: 5 } }, { send: 'letter' }, { task: 'no-response' }],
});
const v2: Rule = { ...v1, version: 2, outreach: [{ send: 'letter' }, { wait: { days: 5 } }, { task: 'no-response' }] };

let engine: TestEngine;
const check = () => ({ parameters: engine.context.parameters, templatesDir: engine.context.templatesDir });

beforeAll(async () => {
  engine = await TestEngine.start();
});
afterAll(async () => {
  await withdrawRule(engine.db, 'version-probe', 'test').catch(() => {});
  await engine?.stop();
});

it('keeps running outreach on its version when a new one is published, and withdrawing stops it', async () => {
  await engine.publishRules([{ rule: v1, file: 'tests/version-probe.yaml' }]);
  const early = await engine.addResident({ consents: ['relocation'] });
  const earlyOutreach = outreachIdOf(await engine.sendEvent(early, { type: 'marriage', msPerDay: 2_000 }), 'version-probe');
  await waitFor('v1 email', async () => (await engine.ledger(earlyOutreach)).some((d) => d.status === 'sent'));

  // Version 2 sends a letter first. The outreach already running must not change.
  await engine.publishRules([{ rule: v2, file: 'tests/version-probe.yaml' }]);
  expect((await publishedRules(engine.db)).find((r) => r.id === 'version-probe')?.version).toBe(2);
  const late = await engine.addResident({ consents: ['relocation'] });
  const lateOutreach = outreachIdOf(await engine.sendEvent(late, { type: 'marriage', msPerDay: 60_000 }), 'version-probe');
  await waitFor('v2 letter', async () => (await engine.ledger(lateOutreach)).some((d) => d.status === 'sent'));
  expect((await engine.ledger(lateOutreach)).map((d) => [d.channel, d.rule_version])).toEqual([['letter', 2]]);

  // Nothing invalid is stored: templates using a deadline need a rule that has one.
  const { deadline: _none, ...withoutDeadline } = v2;
  await expect(registerRules(engine.db, [{ rule: { ...withoutDeadline, version: 3 }, file: 'y.yaml' }], check(), 'test')).rejects.toThrow(
    /provides no variable deadline.date/,
  );

  // A stored version cannot be changed: the same number with another plan is refused.
  await expect(registerRules(engine.db, [{ rule: { ...v2, outreach: [{ send: 'push' }] }, file: 'x.yaml' }], check(), 'test')).rejects.toThrow(
    /already stored with a different definition/,
  );

  // Withdrawing the rule ends what is running, whatever its version.
  const { activeOutreach } = await withdrawRule(engine.db, 'version-probe', 'test');
  expect(activeOutreach.sort()).toEqual([earlyOutreach, lateOutreach].sort());
  for (const id of activeOutreach) await engine.client.workflow.getHandle(id).signal(stopSignal, { reason: 'rule-withdrawn' });
  const [earlyEnd, lateEnd] = await Promise.all([engine.result(earlyOutreach), engine.result(lateOutreach)]);
  expect([earlyEnd.state, lateEnd.state]).toEqual(['rule-withdrawn', 'rule-withdrawn']);
  // The early outreach followed version 1 to the end of its days: email, then (after 5 days) a letter — or was stopped first.
  expect((await engine.ledger(earlyOutreach)).every((d) => d.rule_version === 1)).toBe(true);
  expect((await engine.ledger(earlyOutreach))[0]!.channel).toBe('email');

  // A withdrawn rule matches nothing new.
  const after = await engine.addResident({ consents: ['relocation'] });
  const result = await engine.sendEvent(after, { type: 'marriage', msPerDay: 60_000 });
  expect(result.matches.filter((m) => m.ruleId === 'version-probe')).toEqual([]);
  const audit = await engine.db.selectFrom('audit_log').select(['action', 'detail']).where('outreach_id', '=', earlyOutreach).execute();
  expect(audit.find((a) => a.action === 'outreach-ended')?.detail).toMatchObject({ state: 'rule-withdrawn' });
});
