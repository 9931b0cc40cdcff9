/**
 * Several worker processes queue letters for the same print day into one outbox: each rewrites the day's
 * queue manifest, and none may drop another's line (two workers once lost one between them).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, inject, it } from 'vitest';
import { parseCsv } from '../channels/letter/print-outbox';

const outboxDir = mkdtempSync(join(tmpdir(), 'oshirase-queue-'));
afterAll(() => rmSync(outboxDir, { recursive: true, force: true }));

const PROCESSES = 3;
const LETTERS_EACH = 15;
// A print day no other test writes; the lock is per day, the folder this test's own.
const DAY = '2031-02-14';

/** One worker-like process that adds its letters' proofs one after another, as a worker's activities do. */
function queueFromProcess(prefix: string): Promise<void> {
  const script = `import { openDatabase } from './store/connect.ts';
import { addProofToQueueFolder } from './channels/letter/print-batches.ts';
const handle = await openDatabase({ databaseUrl: ${JSON.stringify(inject('databaseUrl'))}, poolSize: 2 });
const pdf = Buffer.from('%PDF-1.3\\n%proof\\n');
for (let i = 0; i < ${LETTERS_EACH}; i++) {
  await addProofToQueueFolder(handle.db, ${JSON.stringify(outboxDir)}, {
    deliveryKey: ${JSON.stringify(prefix)} + '#' + i + ':letter',
    reference: ${JSON.stringify(prefix.toUpperCase())} + '-' + String(i).padStart(4, '0'),
    postalCode: '100-0001',
    postageClass: 'standard',
    pdf,
    issuedOn: ${JSON.stringify(DAY)},
  });
}
await handle.close();`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`queueing process ${prefix} exited with ${code}`))));
  });
}

it('keeps every letter of every process in the print day manifest', async () => {
  const prefixes = Array.from({ length: PROCESSES }, (_, i) => `w${i}`);
  await Promise.all(prefixes.map(queueFromProcess));
  const rows = parseCsv(readFileSync(join(outboxDir, 'queue', DAY, 'manifest.csv'), 'utf8')).slice(1);
  const keys = rows.map((r) => r[1]).sort();
  const expected = prefixes.flatMap((p) => Array.from({ length: LETTERS_EACH }, (_, i) => `${p}#${i}:letter`)).sort();
  expect(keys).toEqual(expected);
});
