/**
 *   oshirase demo [--day-ms 1000] [--data-dir DIR] [--stay]
 */
import { runDemo } from '../dev/demo/run-demo';
import { defineCommand, UsageError } from './cli-support';

export const DEMO = defineCommand<{ dayMs: string; dataDir?: string; stay?: boolean }>({
  name: 'demo',
  summary: 'Run the whole flow on this machine: Temporal dev server, database, SMTP server, push receiver, worker, seeded residents.',
  usage: '[--day-ms MS] [--data-dir DIR] [--stay]',
  options: (cmd) =>
    cmd
      .option('--day-ms <ms>', 'milliseconds per simulated day', '1000')
      .option('--data-dir <dir>', 'where the demo keeps its data (default .oshirase/demo)')
      .option('--stay', 'after the summary, keep the service running for the staff console until Ctrl-C'),
  async run({ opts }, ctx) {
    const msPerDay = Number(opts.dayMs);
    if (!Number.isInteger(msPerDay) || msPerDay < 50 || msPerDay > 86_400_000)
      throw new UsageError(DEMO.name, '--day-ms must be a whole number of milliseconds between 50 and 86400000');
    const stay = opts.stay ? { untilStopped: untilInterrupted } : undefined;
    const failures = await runDemo({ msPerDay, dataDir: opts.dataDir ?? '.oshirase/demo', out: (line) => void ctx.print(line), ...(stay ? { stay } : {}) });
    ctx.print(failures === 0 ? '\nDemo finished: every check held.' : `\nDemo finished with ${failures} failed check(s).`);
    return failures === 0 ? 0 : 1;
  },
});

/** Resolves on Ctrl-C or a termination signal. */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

export const DEMO_COMMANDS = [DEMO];
