/**
 * Fault: the two worker processes are SIGKILLed at random moments while 200 outreach run on the real
 * cluster, and restarted. Every outreach must reach its end state, and no notice may arrive twice or be
 * acknowledged without arriving. The kill times come from a seeded generator; the seed is printed and
 * FAULT_SEED repeats a run.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnService, type RunningService } from '../../dev/local-services/spawn-service';
import { TestEngine } from '../support/test-engine';
import { parents, sendBirths, waitUntilAllEnded } from './fault-run';
import { countDeliveries, report } from './fault-ledger';
import { seededRandom } from './seeded-random';

// Births of residents with email and push: each birth starts two outreach (child allowance and the
// child medical subsidy), 100 births make 200. Plan days of 8 s: the whole plan (email, push 3 days
// later, letter, deadline) takes about two minutes, the kills (at least five) the first of them.
const BIRTHS = Number(process.env.FAULT_BIRTHS ?? 100);
const MS_PER_DAY = 8_000;
const KILLING_MS = 40_000;
const MIN_KILLS = 5;

let engine: TestEngine;
const workers: Array<RunningService | null> = [null, null];

const startWorker = () => spawnService('worker.ts', [], 'WORKER_READY', { env: engine.workerEnv(), timeoutMs: 120_000 });

async function kill(index: number): Promise<void> {
  const worker = workers[index];
  if (!worker) return;
  workers[index] = null;
  const exited = new Promise((resolve) => worker.process.once('exit', resolve));
  worker.process.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  engine = await TestEngine.start({ withWorker: false });
  [workers[0], workers[1]] = await Promise.all([startWorker(), startWorker()]);
});
afterAll(async () => {
  for (const w of workers) await w?.stop();
  await engine?.terminateRunningWorkflows().catch(() => {});
  await engine?.stop();
});

it('loses no outreach and sends nothing twice while its workers are killed at random moments', async () => {
  const { seed, next } = seededRandom(process.env.FAULT_SEED);
  process.stderr.write(`worker-kills: seed ${seed} (FAULT_SEED=${seed} repeats the kill times)\n`);
  const residents = await parents(engine, BIRTHS);

  // The births arrive while the workers are already being killed.
  // A killed worker is started again at once; the next kill takes whichever worker is up (a worker takes
  // seconds to start, so at times both are down).
  const killing = (async () => {
    const until = Date.now() + KILLING_MS;
    const latest = Date.now() + 3 * KILLING_MS;
    const restarts: Array<Promise<void>> = [];
    let kills = 0;
    // At least MIN_KILLS, however slowly a loaded machine restarts a worker.
    while ((Date.now() < until || kills < MIN_KILLS) && Date.now() < latest) {
      await new Promise((r) => setTimeout(r, 1_000 + Math.floor(next() * 4_000)));
      const up = workers.flatMap((w, i) => (w ? [i] : []));
      if (up.length === 0) continue;
      const index = up[Math.floor(next() * up.length)]!;
      await kill(index);
      kills += 1;
      restarts.push(
        startWorker().then((w) => {
          workers[index] = w;
        }),
      );
    }
    await Promise.all(restarts);
    return kills;
  })();
  const outreachIds = await sendBirths(engine, residents, MS_PER_DAY);
  const kills = await killing;
  process.stderr.write(`worker-kills: ${kills} kills\n`);
  expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
  expect(outreachIds).toHaveLength(2 * BIRTHS);

  // Every outreach ends (its deadline passes: nobody answers); an activity lost with a killed worker is
  // retried after its timeout, so the wait allows for that.
  await waitUntilAllEnded(engine, outreachIds, 420_000);
  const figures = report({
    ...(await countDeliveries(
      engine,
      'worker-kills',
      outreachIds,
      residents.map((r) => r.deviceId!),
    )),
  });
  expect(figures.expected).toBeGreaterThan(0);
  expect(figures.duplicates).toBe(0);
  expect(figures.losses).toBe(0);
});
