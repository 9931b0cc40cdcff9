/**
 * The long-running processes and the administration of calling systems:
 *   oshirase serve [--public-port P] [--internal-port Q]
 *   oshirase worker
 *   oshirase clients create --name NAME --role ROLE | clients list | clients revoke ID
 *   oshirase clients token CLIENT_ID --secret-file FILE
 */
import { z } from 'zod';
import { createEngine } from '../runtime/create-engine';
import { startEngineService } from '../service/engine-service';
import { runWorker } from '../worker';
import { CLIENT_ID_PATTERN, CLIENT_ROLES, createClient, listClients, revokeClient, signClientToken } from '../service/auth/calling-systems';
import { readTextFile } from '../foundation/read-text-file';
import { readOrCreateLocalSecret } from '../config/secrets';
import { ConfigError, loadEngineConfig } from '../config/engine-config';
import { logLevelSetting, processEnvironment } from '../config/environment';
import { loadServiceConfig } from '../config/service-config';
import type { ClientRole } from '../store/schema';
import { defineCommand, requireOption, UsageError } from './cli-support';
import { table } from '../foundation/text-table';
import { createEngineLogger } from '../foundation/logging';

const portOption = (command: string, flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const parsed = z.coerce.number().int().min(0).max(65_535).safeParse(value);
  if (!parsed.success) throw new UsageError(command, `--${flag}: "${value}" is not a port number (0–65535)`);
  return parsed.data;
};

export const SERVE = defineCommand<{ publicPort?: string; internalPort?: string }>({
  name: 'serve',
  summary: 'Run the HTTP service: the public listener (residents) and the internal one (/api/v1, staff sign-in), until SIGTERM.',
  usage: '[--public-port P] [--internal-port Q]   (PUBLIC_PORT, PUBLIC_HOST, INTERNAL_PORT, INTERNAL_HOST in the environment)',
  options: (cmd) =>
    cmd
      .option('--public-port <port>', "the public listener's port (0: any free one)")
      .option('--internal-port <port>', "the internal listener's port (0: any free one)"),
  async run({ opts }) {
    const publicPort = portOption(SERVE.name, 'public-port', opts.publicPort);
    const internalPort = portOption(SERVE.name, 'internal-port', opts.internalPort);
    // JSON lines on stdout with the worker's fields (foundation/logging.ts); ids only — the service never logs
    // names, addresses, emails or tokens, and credentials in headers, cookies and query strings are censored.
    const logLevel = logLevelSetting();
    if ('problem' in logLevel) throw new ConfigError(logLevel.problem);
    const logger = createEngineLogger({ component: 'service', level: logLevel.level });
    const engine = await createEngine({ warn: (message) => logger.warn(message) });
    try {
      const envConfig = loadServiceConfig();
      const service = await startEngineService(engine, {
        logger,
        warn: (message) => logger.warn(message),
        config: {
          public: { ...envConfig.public, ...(publicPort === undefined ? {} : { port: publicPort }) },
          internal: { ...envConfig.internal, ...(internalPort === undefined ? {} : { port: internalPort }) },
        },
      });
      logger.info({ public: service.publicUrl, internal: service.internalUrl }, 'service listening');
      process.stdout.write(`SERVICE_READY ${service.publicUrl} ${service.internalUrl}\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info({ signal }, 'service shutting down: finishing requests in flight');
          resolve();
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
      await service.close();
      logger.info('service stopped');
      return 0;
    } finally {
      await engine.close();
    }
  },
});

export const WORKER = defineCommand({
  name: 'worker',
  summary: 'Run a Temporal worker for the outreach workflows and their activities, until SIGTERM.',
  usage: '(TEMPORAL_ADDRESS and DATABASE_URL in the environment)',
  async run() {
    await runWorker();
    return 0;
  },
});

/** The pepper the service derives client secrets with: the same setting (or the same generated file) as `serve`. */
function clientPepper(): string {
  const config = loadEngineConfig();
  return readOrCreateLocalSecret(processEnvironment(), 'CLIENT_SECRET_PEPPER', {
    dataDir: config.dataDir,
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
  });
}

export const CLIENTS_CREATE = defineCommand<{ name?: string; role?: string }>({
  name: 'clients create',
  summary: 'Register a calling system; prints its client id and secret once (the secret is not stored and cannot be shown again).',
  usage: `--name NAME --role ${CLIENT_ROLES.join('|')}`,
  options: (cmd) => cmd.option('--name <name>', "the calling system's name").option('--role <role>', `one of ${CLIENT_ROLES.join(', ')}`),
  async run({ opts: values }, ctx) {
    const spec = CLIENTS_CREATE;
    const name = requireOption(spec.name, 'name', values.name);
    const role = requireOption(spec.name, 'role', values.role);
    if (!(CLIENT_ROLES as readonly string[]).includes(role)) throw new UsageError(spec.name, `--role must be one of ${CLIENT_ROLES.join(', ')}`);
    const pepper = clientPepper();
    const engine = await ctx.engine();
    const created = await createClient(engine.database.db, pepper, { name, role: role as ClientRole, actor: ctx.actor });
    ctx.print(`client id: ${created.id}`);
    ctx.print(`secret:    ${created.secret}`);
    ctx.print('');
    ctx.print('Give both to the calling system now: the secret is not stored and cannot be shown again.');
    ctx.print('It signs each request with a JWT (HS256 with the secret; iss = client id; iat = now; a unique jti) in Authorization: Bearer.');
    return 0;
  },
});

export const CLIENTS_LIST = defineCommand({
  name: 'clients list',
  summary: 'List calling systems: id, name, role, created, revoked.',
  usage: '',
  async run(_input, ctx) {
    const engine = await ctx.engine();
    const clients = await listClients(engine.database.db);
    ctx.print(
      table(
        ['client id', 'name', 'role', 'created', 'revoked'],
        clients.map((c) => [c.id, c.name, c.role, c.created_at.toISOString(), c.revoked_at?.toISOString() ?? '']),
      ),
    );
    return 0;
  },
});

export const CLIENTS_REVOKE = defineCommand({
  name: 'clients revoke',
  summary: 'Revoke a calling system: its next request is refused.',
  usage: 'CLIENT_ID',
  arguments: '[CLIENT_ID]',
  async run({ args }, ctx) {
    const id = args[0];
    if (!id) throw new UsageError(CLIENTS_REVOKE.name, 'CLIENT_ID is required');
    const engine = await ctx.engine();
    if (await revokeClient(engine.database.db, id, ctx.actor)) {
      ctx.print(`client ${id} revoked: its next request is refused`);
      return 0;
    }
    ctx.err(`no client ${id}, or it was already revoked`);
    return 1;
  },
});

/** A secret as `clients create` prints it: base64url, one line. */
const CLIENT_SECRET_PATTERN = /^[A-Za-z0-9_-]{16,256}$/;

export const CLIENTS_TOKEN = defineCommand<{ secretFile?: string }>({
  name: 'clients token',
  summary: "Print one freshly signed request token of a calling system (its client id and secret; valid 30 seconds), for curl's Authorization: Bearer.",
  usage: 'CLIENT_ID --secret-file FILE',
  arguments: '[CLIENT_ID]',
  options: (cmd) => cmd.option('--secret-file <file>', "a file holding the client's secret (as `clients create` printed it), readable by you only"),
  async run({ args, opts }, ctx) {
    const spec = CLIENTS_TOKEN;
    const id = args[0];
    if (!id) throw new UsageError(spec.name, 'CLIENT_ID is required');
    if (!CLIENT_ID_PATTERN.test(id)) throw new UsageError(spec.name, `CLIENT_ID: "${id}" is not a client id (cli_ and 16 to 64 letters, digits, - or _)`);
    const file = requireOption(spec.name, 'secret-file', opts.secretFile);
    const read = readTextFile(file);
    if (!read.ok) throw new UsageError(spec.name, `--secret-file: ${file}: ${read.problem.message}`);
    const secret = read.text.trim();
    // Never the file's text in the message: it may be the secret with a typo.
    if (!CLIENT_SECRET_PATTERN.test(secret)) {
      throw new UsageError(
        spec.name,
        `--secret-file: ${file} does not hold a client secret (one line of letters, digits, - and _, as \`clients create\` printed it)`,
      );
    }
    // Signed here, no database: the service checks it against the client's row when it arrives.
    return ctx.print(await signClientToken(id, secret));
  },
});

export const SERVICE_COMMANDS = [SERVE, WORKER, CLIENTS_CREATE, CLIENTS_LIST, CLIENTS_REVOKE, CLIENTS_TOKEN];
