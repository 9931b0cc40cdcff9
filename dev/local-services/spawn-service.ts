import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunningService {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts one of the project's TypeScript programs as its own process and waits
 * for the line `<READY_WORD> <url>` it prints once it is listening.
 */
export function spawnService(
  script: string,
  args: string[],
  readyWord: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onOutput?: (line: string) => void } = {},
): Promise<RunningService> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, script), ...args], {
    cwd: projectRoot,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let stderr = '';
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not become ready within ${(options.timeoutMs ?? 30_000) / 1000}s: ${stderr.trim()}`));
    }, options.timeoutMs ?? 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      options.onOutput?.(d.toString());
    });
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith(`${readyWord} `)) {
          clearTimeout(timer);
          resolve({ url: line.slice(readyWord.length + 1).trim(), process: child, stop: () => stopChild(child) });
        } else {
          options.onOutput?.(line);
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${signal ?? code}) before it was ready: ${stderr.trim()}`));
    });
  });
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * The local OpenID provider (dev/local-services/oidc-provider.ts) as its own process, with the demo staff
 * accounts of config/demo-staff.json and one registered client redirecting to `redirectUri`.
 */
export function spawnLocalOidcProvider(client: { clientId: string; clientSecretFile: string; redirectUri: string }): Promise<RunningService> {
  return spawnService(
    'dev/local-services/oidc-provider.ts',
    [
      '--port',
      '0',
      '--client-id',
      client.clientId,
      '--client-secret-file',
      client.clientSecretFile,
      '--redirect-uri',
      client.redirectUri,
      '--accounts',
      'config/demo-staff.json',
    ],
    'OIDC_PROVIDER_READY',
  );
}
