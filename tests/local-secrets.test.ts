/**
 * Secrets generated for an installation that configures none (the demo, a
 * laptop): one value per installation, whichever of its processes starts
 * first, and readable by the engine's user only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readOrCreateLocalSecret } from '../config/secrets';

const dataDir = mkdtempSync(join(tmpdir(), 'oshirase-secrets-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** One process that asks for the secret, as `serve` and `worker` do at start. */
function secretFromProcess(name: string): Promise<string> {
  const script = `import { readOrCreateLocalSecret } from './config/secrets.ts';
process.stdout.write(readOrCreateLocalSecret({}, ${JSON.stringify(name)}, { dataDir: ${JSON.stringify(dataDir)} }));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
  });
}

it('gives every process of an installation the same complete secret when they start at once', async () => {
  const values = await Promise.all(Array.from({ length: 6 }, () => secretFromProcess('RACE_SECRET')));
  expect(values[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
  expect(new Set(values).size).toBe(1);
  // No temporary file is left behind, and a later start reads the same value.
  expect(readdirSync(join(dataDir, 'secrets'))).toEqual(['race_secret']);
  expect(readOrCreateLocalSecret({}, 'RACE_SECRET', { dataDir })).toBe(values[0]);
});

it('keeps a generated secret 0600 in a 0700 folder, and prefers a configured one', () => {
  const generated = readOrCreateLocalSecret({}, 'MODE_SECRET', { dataDir });
  expect(statSync(join(dataDir, 'secrets', 'mode_secret')).mode & 0o777).toBe(0o600);
  expect(statSync(join(dataDir, 'secrets')).mode & 0o777).toBe(0o700);
  expect(readOrCreateLocalSecret({ MODE_SECRET: 'configured-value' }, 'MODE_SECRET', { dataDir })).toBe('configured-value');
  expect(readOrCreateLocalSecret({}, 'MODE_SECRET', { dataDir })).toBe(generated);
});
