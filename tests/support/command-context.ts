// A command's context for running the command line's own code inside a test: what it prints is captured,
// and the engine and Temporal are what the test gives (by default, refused: a command that must not need them).
import type { Client } from '@temporalio/client';
import type { CommandContext } from '../../cli/command-context';
import type { EngineContext } from '../../runtime/engine-context';

export interface CapturedCommand {
  ctx: CommandContext;
  out: string[];
  err: string[];
}

export function capturingContext(
  options: { engine?: () => Promise<EngineContext>; temporal?: () => Promise<Client>; actor?: string; what?: string } = {},
): CapturedCommand {
  const out: string[] = [];
  const err: string[] = [];
  const what = options.what ?? 'this command';
  const ctx: CommandContext = {
    print: (text) => (out.push(text), 0),
    err: (text) => void err.push(text),
    progress: () => {},
    actor: options.actor ?? 'cli:test',
    engine: options.engine ?? (() => Promise.reject(new Error(`${what} must not open the database`))),
    temporal: options.temporal ?? (() => Promise.reject(new Error(`${what} must not connect to Temporal`))),
    close: async () => {},
  };
  return { ctx, out, err };
}
