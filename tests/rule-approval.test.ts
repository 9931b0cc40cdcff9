/**
 * Four eyes on rules through the service and the CLI, with staff signed in through the real OpenID
 * provider: a draft stored by a process start is in force only after a policy author submitted it and a
 * different person with the approver role approved it; the audit log names both. The author cannot approve,
 * a caseworker can do neither, and an approver cannot approve what they submitted themselves.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedRules, registerRules, submitRuleVersion, withdrawRule } from '../engine/rule-language/rule-registry';
import { rulesApprove } from '../cli/rules-commands';
import { TestEngine } from './support/test-engine';
import { startTestService, type TestService } from './support/test-service';
import { capturingContext } from './support/command-context';

let engine: TestEngine;
let svc: TestService;

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
  svc = await startTestService(engine, { msPerDay: 60_000, staffSignIn: true });
}, 60_000);
/** Rules this file stores of its own: withdrawn at the end, so nothing after it (one database) matches them. */
const probeRules: string[] = [];

afterAll(async () => {
  for (const id of probeRules) await withdrawRule(engine.db, id, 'test').catch(() => undefined);
  await svc?.close();
  await engine?.stop();
});

/** A rule of this test's own, stored as a process start stores a rule file: a draft. */
async function storedDraft(): Promise<{ id: string; version: number }> {
  const base = engine.context.rules.find((r) => r.rule.id === 'school-support')!;
  const id = `four-eyes-probe-${randomUUID().slice(0, 8)}`;
  probeRules.push(id);
  const rule = { ...base.rule, id, status: 'published' as const };
  await registerRules(
    engine.db,
    [{ rule, file: `tests/${id}.yaml` }],
    { parameters: engine.context.parameters, templatesDir: engine.context.templatesDir },
    'test',
  );
  return { id, version: rule.version };
}

const post = (url: string, who: { cookie: string; csrfToken: string }) =>
  fetch(`${svc.service.internalUrl}${url}`, { method: 'POST', headers: { Cookie: who.cookie, 'x-csrf-token': who.csrfToken } });

describe('four eyes on rules', () => {
  it('publishes a draft only when an author submits it and an approver approves it; the audit log names both', async () => {
    const { id, version } = await storedDraft();
    const [author, approver, caseworker] = [await svc.signIn('policy-author'), await svc.signIn('policy-approver'), await svc.signIn('caseworker-chuo')];
    const versionUrl = `/api/v1/rules/${id}/versions/${version}`;
    const inForce = async () => (await publishedRules(engine.db)).some((r) => r.id === id);
    expect(await inForce()).toBe(false);

    // Nobody but an author submits; the author cannot approve; nothing can be approved before it is submitted.
    expect((await post(`${versionUrl}/submission`, caseworker)).status).toBe(403);
    expect((await post(`${versionUrl}/submission`, approver)).status).toBe(403);
    expect((await post(`${versionUrl}/approval`, author)).status).toBe(403);
    const early = await post(`${versionUrl}/approval`, approver);
    expect(early.status).toBe(409);
    expect(((await early.json()) as { error: string }).error).toContain('only a submitted version can be approved');

    expect((await post(`${versionUrl}/submission`, author)).status).toBe(200);
    expect(await inForce()).toBe(false);
    expect((await post(`${versionUrl}/submission`, author)).status).toBe(409);
    const approved = await post(`${versionUrl}/approval`, approver);
    expect(approved.status).toBe(200);
    expect(await approved.json()).toEqual({ ruleId: id, version, status: 'published' });
    expect(await inForce()).toBe(true);

    const versions = await fetch(`${svc.service.internalUrl}/api/v1/rules/${id}/versions`, { headers: { Cookie: approver.cookie } });
    const listed = ((await versions.json()) as { versions: Array<{ status: string; submittedBy: string; approvedBy: string }> }).versions;
    expect(listed).toMatchObject([{ status: 'published', submittedBy: `staff:${author.subject}`, approvedBy: `staff:${approver.subject}` }]);
    const audit = await engine.db.selectFrom('audit_log').select(['action', 'actor']).where('rule_id', '=', id).orderBy('id').execute();
    expect(audit.map((a) => [a.action, a.actor])).toEqual([
      ['rule-version-stored', 'test'],
      ['rule-submitted', `staff:${author.subject}`],
      ['rule-published', `staff:${approver.subject}`],
    ]);
    // Without the CSRF token a signed-in author changes nothing.
    const { id: other } = await storedDraft();
    const noCsrf = await fetch(`${svc.service.internalUrl}/api/v1/rules/${other}/versions/${version}/submission`, {
      method: 'POST',
      headers: { Cookie: author.cookie },
    });
    expect(noCsrf.status).toBe(403);
  });

  it('the CLI refuses an approval by the person who submitted, as one line without a stack trace', async () => {
    const { id, version } = await storedDraft();
    const { ctx, err } = capturingContext({ engine: async () => engine.context, actor: 'cli:same-person' });
    await submitRuleVersion(engine.db, id, version, 'cli:same-person');
    const code = await rulesApprove([id, '--version', String(version)], ctx);
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(/^refused: .*a different person must approve it \(four eyes\)$/);
    expect(err.join('\n')).not.toContain('    at ');
    expect((await publishedRules(engine.db)).some((r) => r.id === id)).toBe(false);
  });
});
