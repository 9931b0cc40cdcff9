import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { extractText, getDocumentProxy } from 'unpdf';
import { TEST_DELIVERY_TOKEN_KEY, TestEngine, mailsTo, outreachIdOf, pushesTo, waitFor, type TestResident } from './support/test-engine';
import { daysAgoInTokyo } from './support/test-dates';
import { formatJapaneseEraDate, formatNoticeDate, formatWarekiDate } from '../engine/notices/format-dates';
import { addDays, addOffset } from '../foundation/tokyo-calendar';
import type { Rule } from '../engine/rule-language/rule-schema';
import { createActivities } from '../activities';
import { createMailTransport } from '../channels/email/email';
import { loadEmailConfig } from '../config/email-config';
import type { Delivery, Locale } from '../store/schema';
import { lateNoticeProblems } from '../engine/rule-language/late-notice-checks';
import { loadRuleSet, projectRuleSetOptions } from '../engine/rule-language/load-rules';
import { checkTemplates } from '../engine/rule-language/validate-rule';
import { probeRule } from './support/probe-rule';

// Short plan days: the whole late plan (email, 3 days, push, letter) runs in a few seconds. Nothing
// below depends on how long a day is: the checks are on order and state, never on elapsed time.
const FAST_DAY_MS = 400;
const LOCALES: Locale[] = ['ja', 'en', 'ja-easy'];

let engine: TestEngine;

beforeAll(async () => {
  engine = await TestEngine.start();
});
afterAll(async () => {
  await engine?.stop();
});

/** Every way a notice could write a date: ISO, slashes, the Western date in each language, the era forms. */
function dateForms(iso: string): string[] {
  const [y, m, d] = iso.split('-');
  return [
    iso,
    `${y}/${m}/${d}`,
    `${y}/${Number(m)}/${Number(d)}`,
    ...LOCALES.map((l) => formatNoticeDate(iso, l)),
    formatJapaneseEraDate(iso),
    ...LOCALES.map((l) => formatWarekiDate(iso, l)),
  ];
}

/** Text with whitespace removed (a PDF's text comes back in pieces). */
const flat = (text: string) => text.replace(/\s+/g, '');

function expectNoDate(texts: string[], dates: string[]): void {
  const forms = dates.flatMap(dateForms);
  for (const text of texts) {
    for (const form of forms) {
      expect(text, `a notice names the date ${form}`).not.toContain(form);
      expect(flat(text), `a notice names the date ${form}`).not.toContain(flat(form));
    }
  }
}

async function letterText(ledger: Delivery[]): Promise<string> {
  const letter = ledger.find((d) => d.channel === 'letter')!;
  const pdfPath = (letter.detail as { pdfPath: string }).pdfPath;
  const { text } = await extractText(await getDocumentProxy(new Uint8Array(readFileSync(pdfPath))), { mergePages: true });
  return text;
}

/** The late-application wording of child-allowance's templates, per locale (templates/child-allowance/<locale>/late.*.hbs). */
const LATE_WORDING: Record<Locale, { subject: string; text: string; push: string; letter: string }> = {
  ja: {
    subject: '【おしらせ市】児童手当の申請のご案内（お早めに申請してください）',
    text: '児童手当の通常の申請期限は、すでに過ぎています。それでも、今からでも申請できます。',
    push: '児童手当の通常の申請期限は過ぎていますが、今からでも申請できます。お早めに申請してください。タップして手続きを確認できます。 出生の届出にもとづくお知らせです。 あなたが同意された「児童手当・子ども医療費助成」のための情報の利用にもとづいています。',
    letter: '今からでも申請できます',
  },
  en: {
    subject: '[Oshirase City] How to apply for the child allowance: please apply as soon as possible',
    text: 'The usual deadline for applying has already passed, but you can still apply.',
    push: 'The usual deadline for the child allowance has passed, but you can still apply. Please apply as soon as possible. Tap to see how. It is based on a registered birth. The city used your information under your consent for: child allowance and child medical subsidy.',
    letter: 'you can still apply',
  },
  'ja-easy': {
    subject: '【おしらせ市】こどもの ための おかね（児童手当）の もうしこみ（はやく もうしこんで ください）',
    text: 'もうしこみの きげんは、もう すぎました。でも、いまからでも もうしこむ ことが できます。',
    push: 'もうしこみの きげんは すぎましたが、いまからでも もうしこめます。はやく もうしこんで ください。ここを おすと、やりかたが わかります。 赤ちゃんが 生まれた 届けが あったので おくりました。 あなたが「子どもの 手当と 医療費の たすけ」のために 情報を 使って よいと 言ったので、おくりました。',
    letter: 'いまからでももうしこむことができます',
  },
};

describe('a birth that reaches the engine 20 days late (child allowance deadline: 15 days)', () => {
  const born = daysAgoInTokyo(20);
  const passedDates = [addDays(born, 15), addDays(born, 14), born];

  it.each(LOCALES)('in %s: the late-application notice on every channel, no passed date anywhere, and the deadline-passed task at once', async (locale) => {
    const resident = await engine.addResident({ consents: ['child-benefits'], push: true, locale });
    const result = await engine.sendBirth(resident, { msPerDay: FAST_DAY_MS, occurredOn: born });
    const allowance = outreachIdOf(result, 'child-allowance');
    const subsidy = outreachIdOf(result, 'child-medical-subsidy');
    const [allowanceEnd, subsidyEnd] = await Promise.all([engine.result(allowance), engine.result(subsidy)]);

    // child-allowance provides a late-application notice: the plan's channels carry it, and a caseworker follows up.
    expect(allowanceEnd.state).toBe('deadline-passed');
    expect(allowanceEnd.taskOpened).toBe(true);
    expect(allowanceEnd.sends.map((s) => [s.channel, s.outcome])).toEqual([
      ['email', 'sent'],
      ['push', 'sent'],
      ['letter', 'sent'],
    ]);
    const ledger = await engine.ledger(allowance);
    expect(ledger.map((d) => [d.channel, d.status, (d.detail as { variant?: string }).variant])).toEqual([
      ['email', 'sent', 'late'],
      ['push', 'sent', 'late'],
      ['letter', 'sent', 'late'],
    ]);
    const tasks = await engine.tasks(allowance);
    expect(tasks.map((t) => t.kind)).toEqual(['deadline-passed']);
    // At once: the task is there before the first notice went out, not at the end of the plan.
    expect(tasks[0]!.created_at.getTime()).toBeLessThanOrEqual(ledger[0]!.sent_at!.getTime());

    const wording = LATE_WORDING[locale];
    const mails = await mailsTo(resident.email!, allowance);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe(wording.subject);
    expect(mails[0]!.text).toContain(wording.text);
    const pushes = await pushesTo(resident.deviceId!, allowance);
    expect(pushes.map((p) => p.payload.body)).toEqual([wording.push]);
    const letter = await letterText(ledger);
    expect(flat(letter)).toContain(flat(wording.letter));

    // child-medical-subsidy has no late-application notice: nothing is sent, the task opens at once.
    expect(subsidyEnd.state).toBe('deadline-passed');
    expect(subsidyEnd.taskOpened).toBe(true);
    expect(subsidyEnd.sends).toEqual([]);
    expect(await engine.ledger(subsidy)).toEqual([]);
    expect((await engine.tasks(subsidy)).map((t) => t.kind)).toEqual(['deadline-passed']);
    expect(await mailsTo(resident.email!, subsidy)).toEqual([]);
    expect(await pushesTo(resident.deviceId!, subsidy)).toEqual([]);

    // Nothing this resident received names the passed deadlines (or the birth date), in any form.
    const everyMail = await mailsTo(resident.email!);
    expect(everyMail).toHaveLength(1);
    const everyPush = await pushesTo(resident.deviceId!);
    expect(everyPush).toHaveLength(1);
    expectNoDate(
      [
        ...everyMail.flatMap((m) => [m.subject ?? '', m.text ?? '', typeof m.html === 'string' ? m.html : '']),
        ...everyPush.flatMap((p) => [p.payload.title, p.payload.body]),
        letter,
      ],
      passedDates,
    );

    // The audit log says why, without the dates.
    const audit = (await engine.audit(resident.id)).filter((a) => a.action === 'deadline-passed-at-start');
    expect(audit.map((a) => a.outreach_id).sort()).toEqual([allowance, subsidy].sort());
    expectNoDate(
      audit.map((a) => JSON.stringify(a.detail)),
      passedDates,
    );
  });

  it('a birth whose deadline is still ahead gets the ordinary notice naming it (control)', async () => {
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const recent = daysAgoInTokyo(2);
    const result = await engine.sendBirth(resident, { msPerDay: 60_000, occurredOn: recent });
    const allowance = outreachIdOf(result, 'child-allowance');
    const [mail] = await waitFor('the email', async () => {
      const mails = await mailsTo(resident.email!, allowance);
      return mails.length > 0 ? mails : undefined;
    });
    expect(mail!.text).toContain(`${formatNoticeDate(addDays(recent, 15), 'ja')}までに申請すると`);
    expect((await engine.ledger(allowance))[0]!.detail).not.toHaveProperty('variant');
    expect(await engine.tasks(allowance)).toEqual([]);
    for (const id of result.matches.flatMap((m) => (m.result.decision === 'outreach' ? [m.result.outreachId] : []))) {
      await engine.client.workflow.getHandle(id).terminate('test finished');
    }
  });
});

describe('the daily evaluation catching up on a day it missed', () => {
  // A date-driven rule with a deadline, stored as a draft: the test evaluates it explicitly, and no
  // other test's daily evaluation (which reads the published rules) ever sees it.
  const probe = (templates: string, id: string): Rule =>
    probeRule({
      id,
      status: 'draft',
      title: { ja: '期限の確認', en: 'Deadline probe', 'ja-easy': 'きげんの かくにん' },
      purpose: 'elderly-care',
      effective: { from: '2020-01-01' },
      trigger: { reaches: { attribute: 'age', value: 41, leadDays: 0 } },
      conditions: { all: [{ attribute: 'residence_status', equals: 'registered' }] },
      deadline: { days: 5 },
      outreach: [{ send: 'email' }, { wait: { days: 1 } }, { send: 'letter' }],
      templates,
    });

  it('a match whose deadline has passed gets the late notice, or nothing, and the task at once', async () => {
    const missedDay = daysAgoInTokyo(20);
    const withLate = probe('child-allowance', 'late-catch-up-probe');
    const withoutLate = probe('child-medical-subsidy', 'late-catch-up-probe-no-late');
    await engine.publishRules([
      { rule: withLate, file: 'tests/late-catch-up-probe.yaml' },
      { rule: withoutLate, file: 'tests/late-catch-up-probe-no-late.yaml' },
    ]);
    // Reached 41 on the missed day: the trigger date is that day, the deadline 5 days later (15 days ago).
    const resident: TestResident = await engine.addResident({ consents: ['elderly-care'], birthDate: addOffset(missedDay, { years: -41 }) });

    const { context } = engine;
    // evaluatePartition starts the outreach; the engine's worker runs it and sends.
    const mail = createMailTransport(loadEmailConfig({ SMTP_URL: inject('smtpUrl'), DELIVERY_TOKEN_KEY: TEST_DELIVERY_TOKEN_KEY }));
    const { deps } = engine.activityDeps({ mail, config: { ...context.config, msPerDay: FAST_DAY_MS } });
    const { evaluatePartition } = createActivities(deps);
    // Only this resident's id: the partition the catch-up evaluates holds nobody else.
    const range = { fromId: resident.id, toId: `${resident.id}~` };
    const rules = [withLate, withoutLate].map((r) => ({ ruleId: r.id, ruleVersion: r.version }));
    const result = await new MockActivityEnvironment().run(evaluatePartition, { date: missedDay, range, rules }).finally(() => mail.close());
    expect(result).toMatchObject({ matched: 2, started: 2 });

    const rows = await engine.db.selectFrom('outreach').select(['id', 'rule_id']).where('resident_id', '=', resident.id).orderBy('rule_id').execute();
    expect(rows.map((r) => r.rule_id)).toEqual(['late-catch-up-probe', 'late-catch-up-probe-no-late']);
    const [late, none] = rows.map((r) => r.id) as [string, string];
    const [lateEnd, noneEnd] = await Promise.all([engine.result(late), engine.result(none)]);

    expect(lateEnd.state).toBe('deadline-passed');
    expect(lateEnd.sends.map((s) => [s.channel, s.outcome])).toEqual([
      ['email', 'sent'],
      ['letter', 'sent'],
    ]);
    const ledger = await engine.ledger(late);
    expect(ledger.map((d) => (d.detail as { variant?: string }).variant)).toEqual(['late', 'late']);
    const lateTasks = await engine.tasks(late);
    expect(lateTasks.map((t) => t.kind)).toEqual(['deadline-passed']);
    expect(lateTasks[0]!.created_at.getTime()).toBeLessThanOrEqual(ledger[0]!.sent_at!.getTime());
    const [lateMail] = await mailsTo(resident.email!, late);
    expect(lateMail!.text).toContain(LATE_WORDING.ja.text);

    expect(noneEnd.state).toBe('deadline-passed');
    expect(noneEnd.sends).toEqual([]);
    expect(await engine.ledger(none)).toEqual([]);
    expect((await engine.tasks(none)).map((t) => t.kind)).toEqual(['deadline-passed']);

    const everyMail = await mailsTo(resident.email!);
    expect(everyMail).toHaveLength(1);
    expectNoDate(
      [...everyMail.flatMap((m) => [m.subject ?? '', m.text ?? '', typeof m.html === 'string' ? m.html : '']), await letterText(ledger)],
      [missedDay, addDays(missedDay, 5)],
    );
  });
});

describe('validation of a late-application notice', () => {
  const plan: Rule['outreach'] = [{ send: 'email' }, { wait: { days: 3 } }, { send: 'push' }, { waitUntil: { deadline: -5 } }, { send: 'letter' }];
  const rule = { id: 'probe', templates: 'probe', deadline: { days: 15 }, outreach: plan };
  /** The project's templates with a copy of child-allowance as set `probe`, changed by `edit`. */
  const withProbe = (edit: (setDir: string) => void) => {
    const dir = mkdtempSync(join(tmpdir(), 'late-notice-'));
    cpSync(engine.context.templatesDir, dir, { recursive: true });
    cpSync(join(dir, 'child-allowance'), join(dir, 'probe'), { recursive: true });
    edit(join(dir, 'probe'));
    return dir;
  };
  const messages = (dir: string, r: Parameters<typeof lateNoticeProblems>[0] = rule) => {
    try {
      return lateNoticeProblems(r, dir).map((p) => `${p.file.slice(dir.length + 1)}:${p.line}:${p.column}: ${p.message}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it("passes the project's sets: child-allowance has a complete late notice, the others none", () => {
    expect(lateNoticeProblems({ ...rule, templates: 'child-allowance' }, engine.context.templatesDir)).toEqual([]);
    expect(lateNoticeProblems({ ...rule, templates: 'child-medical-subsidy' }, engine.context.templatesDir)).toEqual([]);
  });

  it('refuses a late part that names the deadline, a locale without the late parts of a channel, and unknown late parts', () => {
    const dir = withProbe((set) => {
      writeFileSync(join(set, 'ja', 'late.push.body.hbs'), '{{deadline.date}}までに申請してください。');
      rmSync(join(set, 'en', 'late.push.body.hbs'));
      writeFileSync(join(set, 'ja', 'late.letter.hbs'), '{{content.body}}');
    });
    expect(messages(dir)).toEqual([
      'probe/ja/late.letter.hbs:1:1: late.letter is not a part of a late-application notice: a set may have late.body, late.push.body, late.email.subject',
      'probe/ja/late.push.body.hbs:1:3: late.push.body names deadline.date, but a late-application notice goes out after the deadline has passed and must not quote it: say that the usual deadline has passed and what the resident can still do',
      'probe/en/late.push.body.hbs:1:1: template set probe has a late-application notice, but not late.push.body (for push) in English (en): residents who read it would get no late-application notice at all',
    ]);
  });

  it('checks late parts like every part: an unknown variable, a part that can render empty, a late push too large', () => {
    const project = loadRuleSet(projectRuleSetOptions(join(import.meta.dirname, '..')));
    const allowance = project.rules.find((r) => r.rule.id === 'child-allowance')!.rule;
    const dir = withProbe((set) => {
      writeFileSync(join(set, 'ja', 'late.body.hbs'), '{{resident.nmae}}様\n\n申請の期限は過ぎましたが、今からでも申請できます。');
      writeFileSync(join(set, 'en', 'late.email.subject.hbs'), '{{#if links.code}}Apply now{{/if}}');
      writeFileSync(join(set, 'ja-easy', 'late.push.body.hbs'), 'もうしこみ '.repeat(800));
    });
    try {
      const problems = checkTemplates({ ...allowance, templates: 'probe' }, { parameters: project.parameters, templatesDir: dir }, [], []);
      const found = problems.map((p) => `${p.file.slice(dir.length + 1)}: ${p.field}: ${p.message}`);
      expect(found).toEqual(
        expect.arrayContaining([
          expect.stringMatching(
            /^probe\/ja\/late\.body\.hbs: resident\.nmae: rule child-allowance provides no variable resident\.nmae.*did you mean resident\.name/,
          ),
          expect.stringMatching(/^probe\/en\/late\.email\.subject\.hbs: late\.email\.subject: renders empty when links\.code is false or empty/),
          expect.stringMatching(/^probe\/ja-easy\/late\.push\.body\.hbs: push\.body: a push notice of rule child-allowance in ja-easy could be \d+ bytes/),
        ]),
      );
      // The project's own late notice passes every check.
      expect(checkTemplates(allowance, { parameters: project.parameters, templatesDir: engine.context.templatesDir }, [], [])).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses an ordinary subject naming the deadline when the set has no late subject, and late parts of a rule without a deadline', () => {
    const subject = withProbe((set) => {
      rmSync(join(set, 'en', 'late.email.subject.hbs'));
      writeFileSync(join(set, 'en', 'email.subject.hbs'), 'Apply by {{deadline.date}}');
    });
    expect(messages(subject)).toEqual([
      'probe/en/email.subject.hbs:1:12: email.subject names deadline.date, and late-application notices use this part too: they go out after the deadline and are rendered without it',
    ]);
    const { deadline: _none, ...noDeadline } = rule;
    expect(
      messages(
        withProbe(() => {}),
        noDeadline,
      ),
    ).toEqual([
      'probe/ja/late.body.hbs:1:1: rule probe has no deadline, so it never sends a late-application notice: remove the late.* parts or give the rule a deadline',
    ]);
  });
});
