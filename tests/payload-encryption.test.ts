import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { ConfigError } from '../config/engine-config';
import { parsePayloadKeys, type PayloadKeyRing } from '../config/payload-keys';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA, PayloadDecryptionError } from '../runtime/payload-codec';
import { createEngine, type Engine } from '../runtime/create-engine';
import { createOutreachWorker } from '../worker';
import { TestEngine, outreachIdOf } from './support/test-engine';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const ringA: PayloadKeyRing = [{ id: 'key-a', key: keyA }];
const ringB: PayloadKeyRing = [{ id: 'key-b', key: keyB }];
const ringBA: PayloadKeyRing = [{ id: 'key-b', key: keyB }, ...ringA];

const json = (value: unknown): Payload => ({
  metadata: { encoding: Buffer.from('json/plain') },
  data: Buffer.from(JSON.stringify(value)),
});
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

describe('the payload codec', () => {
  it('encrypts each payload under the first key with its own IV, and gives the same payload back', async () => {
    const codec = new AesGcmPayloadCodec(ringBA);
    const original = json({ residentId: 'R-SECRET-1', ruleId: 'child-allowance' });
    const [one, two] = await codec.encode([original, original]);
    for (const sealed of [one!, two!]) {
      expect(text(sealed.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(text(sealed.metadata?.[KEY_ID_METADATA])).toBe('key-b');
      expect(text(sealed.data)).not.toContain('R-SECRET-1');
      expect(text(sealed.data)).not.toContain('child-allowance');
    }
    // A fresh IV per payload: the same value never encrypts to the same bytes.
    expect(Buffer.from(one!.data!).equals(Buffer.from(two!.data!))).toBe(false);
    const [back] = await codec.decode([one!]);
    expect(text(back!.metadata?.encoding)).toBe('json/plain');
    expect(JSON.parse(text(back!.data))).toEqual({ residentId: 'R-SECRET-1', ruleId: 'child-allowance' });
  });

  it('decrypts under every key of the ring: a new key in front, the old one still reads what it wrote', async () => {
    const [underA] = await new AesGcmPayloadCodec(ringA).encode([json('written under A')]);
    const [back] = await new AesGcmPayloadCodec(ringBA).decode([underA!]);
    expect(JSON.parse(text(back!.data))).toBe('written under A');
  });

  it('refuses a payload under a key it lacks, naming the key id and nothing of the key or the data', async () => {
    const [underB] = await new AesGcmPayloadCodec(ringB).encode([json('R-SECRET-2')]);
    const attempt = new AesGcmPayloadCodec(ringA).decode([underB!]);
    await expect(attempt).rejects.toThrow(PayloadDecryptionError);
    await expect(attempt).rejects.toThrow(/key id "key-b".*not in PAYLOAD_KEYS/);
    const message = await attempt.catch((e: Error) => e.message);
    expect(message).not.toContain(keyA.toString('base64'));
    expect(message).not.toContain('R-SECRET-2');
  });

  it('refuses an altered payload, and one relabelled with another key id', async () => {
    const codec = new AesGcmPayloadCodec(ringBA);
    const [sealed] = await codec.encode([json('x')]);
    const altered = Buffer.from(sealed!.data!);
    altered[20] = altered[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data: altered }])).rejects.toThrow(/failed authentication/);
    // Same ring, but the id names the other key: the id is bound to the ciphertext.
    const relabelled = { ...sealed!, metadata: { ...sealed!.metadata, [KEY_ID_METADATA]: Buffer.from('key-a') } };
    await expect(codec.decode([relabelled])).rejects.toThrow(/failed authentication/);
  });

  it('passes payloads that were never encrypted through (histories from before the codec replay)', async () => {
    const plain = json({ a: 1 });
    expect(await new AesGcmPayloadCodec(ringA).decode([plain])).toEqual([plain]);
  });
});

describe('PAYLOAD_KEYS', () => {
  it('reads id:key entries, newest first, in base64 or base64url', () => {
    const ring = parsePayloadKeys(`k2:${keyB.toString('base64url')}, k1:${keyA.toString('base64')}`);
    expect(ring.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(ring[0].key.equals(keyB)).toBe(true);
    expect(ring[1]!.key.equals(keyA)).toBe(true);
  });

  it('names the variable, the entry and the id in its errors, never the key', () => {
    const short = randomBytes(16).toString('base64');
    const problems: Array<[string, RegExp]> = [
      ['', /PAYLOAD_KEYS: no key/],
      [`k1:${short}`, /PAYLOAD_KEYS: entry 1: key k1 must be 32 bytes \(AES-256\), got 16/],
      [`${keyA.toString('base64')}`, /PAYLOAD_KEYS: entry 1: expected id:key/],
      [`k1:${keyA.toString('base64')},k1:${keyB.toString('base64')}`, /key id k1 appears twice/],
      [`k1:${keyA.toString('base64')} k2:not*base64`, /entry 2: key k2 must be base64/],
    ];
    for (const [value, expected] of problems) {
      let error: unknown;
      try {
        parsePayloadKeys(value);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(expected);
      for (const secret of [short, keyA.toString('base64'), keyB.toString('base64')]) expect((error as Error).message).not.toContain(secret);
    }
  });
});

describe('an outreach under encryption', () => {
  let engine: TestEngine;
  let rotated: Engine | null = null;
  let plainConnection: Connection | null = null;

  beforeAll(async () => {
    engine = await TestEngine.start({ withWorker: false, payloadKeys: ringA });
  });
  afterAll(async () => {
    await plainConnection?.close();
    await rotated?.close();
    await engine?.stop({ terminateRunning: true });
  });

  it('survives a key rotation while it runs, and its history read without the codec names nobody', async () => {
    // Plan days long enough that the outreach is still waiting when its worker is replaced.
    const msPerDay = 3_000;
    const bundle = { codePath: inject('workflowBundlePath') };
    const first = await createOutreachWorker({ engine: engine.engine, taskQueue: engine.taskQueue, workflowBundle: bundle });
    const firstRun = first.worker.run();
    const resident = await engine.addResident({ consents: ['child-benefits'] });
    const outreachId = outreachIdOf(await engine.sendBirth(resident, { msPerDay }));
    expect(await engine.sendsSeenByWorkflow(outreachId, 1)).toEqual([['email', 'sent']]);
    first.worker.shutdown();
    await firstRun;
    await first.close();

    // The worker comes back with a new key in front of the old one.
    rotated = await createEngine({ config: engine.context.config, temporalAddress: inject('temporalAddress'), payloadKeys: ringBA });
    const second = await createOutreachWorker({ engine: rotated, taskQueue: engine.taskQueue, workflowBundle: bundle });
    const secondRun = second.worker.run();
    try {
      const status = (await rotated.temporal.workflow.getHandle(outreachId).result()) as { state: string };
      expect(status.state).toBe('deadline-passed');
    } finally {
      second.worker.shutdown();
      await secondRun;
      await second.close();
    }
    // Each step once: the new worker took over where the old one stopped.
    const channels = (await engine.ledger(outreachId)).map((d) => d.channel);
    expect(channels).toEqual([...new Set(channels)]);
    expect(channels).toContain('letter');

    // A client without the codec (as anyone reading Temporal's store would be) sees both keys' payloads, none in clear.
    plainConnection = await Connection.connect({ address: inject('temporalAddress') });
    const plain = new Client({ connection: plainConnection, namespace: engine.client.options.namespace });
    const history = await plain.workflow.getHandle(outreachId).fetchHistory();
    const keyIds = new Set<string>();
    const pieces: string[] = [];
    // Every string (the workflow id among them) and every byte field (the payloads) of the history, bytes read as
    // UTF-8 (a Buffer would otherwise turn into numbers).
    const walk = (value: unknown, key: string): void => {
      if (value instanceof Uint8Array) {
        if (key === KEY_ID_METADATA) keyIds.add(text(value));
        pieces.push(text(value));
      } else if (typeof value === 'string') pieces.push(value);
      else if (Array.isArray(value)) for (const v of value) walk(v, key);
      else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
    };
    walk(history, '');
    const raw = pieces.join('\n');
    expect([...keyIds].sort()).toEqual(['key-a', 'key-b']);
    for (const clear of [resident.id, resident.familyName, resident.email!, 'child-allowance', 'child-benefits']) {
      expect(raw, `${clear} in the raw history`).not.toContain(clear);
    }

    // The workflow id is opaque: Temporal's visibility store lists it in clear.
    expect(outreachId).toMatch(/^o-[a-z2-7]{26}$/);
    const listed: unknown[] = [];
    for await (const execution of plain.workflow.list({ query: `TaskQueue = '${engine.taskQueue}'` })) listed.push(execution);
    expect(listed.length).toBeGreaterThanOrEqual(1);
    const visible = JSON.stringify(listed);
    for (const clear of [resident.id, resident.familyName, 'child-allowance']) expect(visible, `${clear} in the visibility store`).not.toContain(clear);

    // The old key alone cannot read what the new key wrote: a clear error naming the key id.
    await expect(engine.client.workflow.getHandle(outreachId).result()).rejects.toThrow(/key id "key-b"/);
  });
});
