import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreatedClient } from '../service/auth/calling-systems';
import { ENCRYPTED_ENCODING } from '../runtime/payload-codec';
import { TestEngine } from './support/test-engine';
import { startTestService, tableCounts, type TestService } from './support/test-service';
import type { SignedIn } from './support/staff-login';

const UI_ORIGIN = 'http://temporal-ui.city.example:8233';

let engine: TestEngine;
let svc: TestService;
let registry: CreatedClient;
const staff: Partial<Record<'auditor' | 'administrator' | 'caseworker-chuo', SignedIn>> = {};

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
  svc = await startTestService(engine, { msPerDay: 60_000, staffSignIn: true, env: { TEMPORAL_UI_ORIGINS: UI_ORIGIN } });
  registry = await svc.client('event-source');
  for (const who of ['auditor', 'administrator', 'caseworker-chuo'] as const) staff[who] = await svc.signIn(who);
});
afterAll(async () => {
  await svc?.close();
  await engine?.stop();
});

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const plainPayload = { metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify({ residentId: 'R-CODEC-1' })) };

type Payloads = { payloads: Array<{ metadata: Record<string, string>; data: string }> };

async function codec(direction: 'decode' | 'encode', body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${svc.service.internalUrl}/codec/${direction}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-namespace': 'default', ...headers },
    body: JSON.stringify(body),
  });
}

describe("the codec endpoint for Temporal's Web UI", () => {
  it('encrypts and decrypts with the engine’s own codec for an administrator and an auditor (cookie only, no CSRF token)', async () => {
    const encoded = await codec('encode', { payloads: [plainPayload] }, { cookie: staff.administrator!.cookie, origin: UI_ORIGIN });
    expect(encoded.status).toBe(200);
    expect(encoded.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(encoded.headers.get('access-control-allow-credentials')).toBe('true');
    const sealed = ((await encoded.json()) as Payloads).payloads[0]!;
    expect(Buffer.from(sealed.metadata.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    expect(Buffer.from(sealed.data, 'base64').toString('latin1')).not.toContain('R-CODEC-1');

    // What the engine's client wrote decodes to the same payload.
    const [fromEngine] = await engine.client.options.loadedDataConverter.payloadCodecs[0]!.encode([
      { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify({ residentId: 'R-CODEC-1' })) },
    ]);
    const engineSealed = {
      metadata: Object.fromEntries(Object.entries(fromEngine!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(fromEngine!.data!).toString('base64'),
    };
    const decoded = await codec('decode', { payloads: [sealed, engineSealed] }, { cookie: staff.auditor!.cookie, origin: UI_ORIGIN });
    expect(decoded.status).toBe(200);
    expect(((await decoded.json()) as Payloads).payloads).toEqual([plainPayload, plainPayload]);
  });

  it('refuses anyone else, and a refusal changes nothing', async () => {
    const before = await tableCounts(engine);
    const anonymous = await codec('decode', { payloads: [plainPayload] }, { origin: UI_ORIGIN });
    expect(anonymous.status).toBe(401);
    // The UI can read the refusal (CORS on errors too) and tell the user to sign in.
    expect(anonymous.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const caseworker = await codec('decode', { payloads: [plainPayload] }, { cookie: staff['caseworker-chuo']!.cookie });
    expect(caseworker.status).toBe(403);
    expect(((await caseworker.json()) as { problems: string[] }).problems[0]).toMatch(/administrator, auditor/);
    const system = await codec('decode', { payloads: [plainPayload] }, { authorization: await svc.bearer(registry) });
    expect(system.status).toBe(403);
    // An auditor's browser on a page of another origin: refused before anything is decoded.
    const elsewhere = await codec('decode', { payloads: [plainPayload] }, { cookie: staff.auditor!.cookie, origin: 'https://evil.example' });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
    expect(await tableCounts(engine)).toEqual(before);
  });

  it('answers the preflight of the configured UI origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${svc.service.internalUrl}/codec/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, x-namespace' },
      });
    const ui = await preflight(UI_ORIGIN);
    expect(ui.status).toBe(204);
    expect(ui.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(ui.headers.get('access-control-allow-methods')).toContain('POST');
    expect(ui.headers.get('access-control-allow-headers')).toContain('x-namespace');
    const other = await preflight('https://evil.example');
    expect(other.status).toBe(403);
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers a payload it cannot decrypt with 422 naming the key id, and malformed bodies with 400', async () => {
    const foreign = { metadata: { encoding: b64(ENCRYPTED_ENCODING), 'encryption-key-id': b64('some-other-key') }, data: b64('x'.repeat(40)) };
    const unknownKey = await codec('decode', { payloads: [foreign] }, { cookie: staff.auditor!.cookie });
    expect(unknownKey.status).toBe(422);
    expect(((await unknownKey.json()) as { problems: string[] }).problems[0]).toMatch(/key id "some-other-key"/);
    for (const body of [{}, { payloads: 'x' }, { payloads: [{ data: 'not base64!' }] }]) {
      const response = await codec('decode', body, { cookie: staff.auditor!.cookie });
      expect(response.status, JSON.stringify(body)).toBe(400);
    }
  });
});
