/**
 * Four eyes on rules through the service and the CLI, with staff signed in through the real OpenID
 * provider: a draft stored by a process start is in force only after a policy author submitted it and a
 * different person with the approver role approved it; the audit log names both. The author cannot approve,
 * a caseworker can do neither, and an approver cannot approve what they submitted themselves.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishedRules, registerRules, submitRuleVersion, withdrawRule } from '../engine/rule-language/rule-registry';
import { parametersApprove, parametersList, parametersSubmit, rulesApprove } from '../cli/rules-commands';
import { publishedParameters, registerParameters } from '../engine/rule-language/parameter-registry';
import { ParameterSet } from '../engine/rule-language/parameters';
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
/** Parameters this file stores of its own (no rule reads them): removed at the end. */
const probeParameters: string[] = [];

afterAll(async () => {
  for (const id of probeRules) await withdrawRule(engine.db, id, 'test').catch(() => undefined);
  if (probeParameters.length > 0) await engine.db.deleteFrom('parameter_versions').where('parameter_id', 'in', probeParameters).execute();
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

/** A parameter of this test's own, stored as a process start stores a parameter file: a draft (version 1). */
async function storedParameterDraft(): Promise<string> {
  const id = `four_eyes_probe.limit_${randomUUID().slice(0, 8)}`;
  probeParameters.push(id);
  const parameter = { id, description: 'A probe threshold', type: 'integer' as const, values: { '2024-04-01': 3, '2027-04-01': 5 } };
  await registerParameters(engine.db, new ParameterSet([parameter], new Map([[id, `parameters/${id}.yaml`]])), 'test');
  return id;
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

  it('puts a parameter version in force only when an author submits it and an approver approves it; through the API and the CLI', async () => {
    const id = await storedParameterDraft();
    const [author, approver, caseworker] = [await svc.signIn('policy-author'), await svc.signIn('policy-approver'), await svc.signIn('caseworker-chuo')];
    const versionUrl = `/api/v1/parameters/${id}/versions/1`;
    const inForce = async () => (await publishedParameters(engine.db)).has(id);
    expect((await post(`${versionUrl}/submission`, caseworker)).status).toBe(403);
    expect((await post(`${versionUrl}/submission`, approver)).status).toBe(403);
    expect((await post(`${versionUrl}/approval`, author)).status).toBe(403);
    expect((await post(`${versionUrl}/approval`, approver)).status).toBe(409);
    expect((await post(`/api/v1/parameters/${id}/versions/9/submission`, author)).status).toBe(404);
    expect((await post(`${versionUrl}/submission`, author)).status).toBe(200);
    expect(await inForce()).toBe(false);
    const approved = await post(`${versionUrl}/approval`, approver);
    expect(await approved.json()).toEqual({ parameterId: id, version: 1, status: 'published' });
    expect((await publishedParameters(engine.db)).valueOn(id, '2027-05-01')).toEqual({ value: 5, since: '2027-04-01' });
    const listed = await fetch(`${svc.service.internalUrl}/api/v1/parameters/${id}/versions`, { headers: { Cookie: caseworker.cookie } });
    expect(listed.status).toBe(403);
    const versions = await fetch(`${svc.service.internalUrl}/api/v1/parameters/${id}/versions`, { headers: { Cookie: author.cookie } });
    expect(((await versions.json()) as { versions: unknown[] }).versions).toMatchObject([
      {
        version: 1,
        status: 'published',
        values: { '2024-04-01': 3, '2027-04-01': 5 },
        submittedBy: `staff:${author.subject}`,
        approvedBy: `staff:${approver.subject}`,
      },
    ]);

    // A changed file is a second draft; through the CLI the same person cannot submit and approve it.
    const changed = { id, description: 'A probe threshold', type: 'integer' as const, values: { '2024-04-01': 3, '2027-04-01': 6 } };
    await registerParameters(engine.db, new ParameterSet([changed]), 'test');
    const same = capturingContext({ engine: async () => engine.context, actor: 'cli:same-person' });
    expect(await parametersSubmit([id, '--version', '2'], same.ctx)).toBe(0);
    expect(await parametersApprove([id, '--version', '2'], same.ctx)).toBe(1);
    expect(same.err.join('\n')).toMatch(/^refused: .*a different person must approve it \(four eyes\)$/);
    expect((await publishedParameters(engine.db)).valueOn(id, '2027-05-01')?.value).toBe(5);
    const other = capturingContext({ engine: async () => engine.context, actor: 'cli:approver' });
    expect(await parametersApprove([id, '--version', '2'], other.ctx)).toBe(0);
    expect((await publishedParameters(engine.db)).valueOn(id, '2027-05-01')?.value).toBe(6);
    const list = capturingContext({ engine: async () => engine.context, actor: 'cli:reader' });
    expect(await parametersList([], list.ctx)).toBe(0);
    expect(list.out.filter((line) => line.startsWith(id))).toEqual([
      `${id} version 1 published (submitted by staff:${author.subject}, approved by staff:${approver.subject}) — 2024-04-01: 3; 2027-04-01: 5`,
      `${id} version 2 published (submitted by cli:same-person, approved by cli:approver) — 2024-04-01: 3; 2027-04-01: 6`,
    ]);
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
