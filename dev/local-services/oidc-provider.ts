/**
 * A real OpenID Connect provider for the demo and the tests, standing in for
 * the city's identity provider: the certified `oidc-provider` implementation,
 * run as its own process, with demo staff accounts from a file. Authorization
 * code flow only, PKCE (S256) required, ID tokens signed RS256 with a key
 * generated at start (so nothing signed by an earlier run is accepted).
 *
 *   node --import tsx dev/local-services/oidc-provider.ts --port 0 \
 *     --client-id oshirase --client-secret-file FILE \
 *     --redirect-uri http://127.0.0.1:8081/auth/callback [--redirect-uri …] \
 *     [--accounts config/demo-staff.json]
 *
 * Prints `OIDC_PROVIDER_READY http://127.0.0.1:PORT` (the issuer) once listening.
 *
 * Its login page is a plain HTML form (user name, password) POSTed as
 * application/x-www-form-urlencoded, and the consent page a form with one
 * button, so tests sign in through HTTP without a browser. The ID token carries
 * `name`, `groups` and `wards`, as a city's IdP would put them there for
 * Oshirase's client (scopes `profile` and `groups`).
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { z } from 'zod';
import { formatIssues } from '../../foundation/zod-issues';

const SERVICE = 'oidc-provider';

const DemoAccount = z.object({
  sub: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (1–64)'),
  username: z.string().regex(/^[a-z0-9._-]{1,64}$/, 'lower-case letters, digits, . _ - (1–64)'),
  password: z.string().min(8),
  name: z.string().min(1).max(200),
  groups: z.array(z.string().min(1).max(200)).max(100),
  wards: z.array(z.string().min(1).max(64)).max(100),
});
export type DemoAccount = z.infer<typeof DemoAccount>;

export const DemoAccountsFile = z
  .object({ $comment: z.string().optional(), accounts: z.array(DemoAccount).min(1) })
  .strict()
  .superRefine((file, ctx) => {
    const seen = { sub: new Set<string>(), username: new Set<string>() };
    file.accounts.forEach((account, i) => {
      for (const key of ['sub', 'username'] as const) {
        if (seen[key].has(account[key])) ctx.addIssue({ code: 'custom', path: ['accounts', i, key], message: `"${account[key]}" appears twice` });
        seen[key].add(account[key]);
      }
    });
  });

function fail(message: string): never {
  process.stderr.write(`${SERVICE}: ${message}\n`);
  process.exit(2);
}

function parseOptions(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '0' },
        'client-id': { type: 'string', default: 'oshirase' },
        'client-secret': { type: 'string' },
        'client-secret-file': { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        accounts: { type: 'string', default: 'config/demo-staff.json' },
      },
    }));
  } catch (error) {
    fail((error as Error).message);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port: "${values.port}" is not a port number`);
  if (values['client-secret'] && values['client-secret-file']) fail('--client-secret and --client-secret-file: give one of them');
  let clientSecret = values['client-secret'];
  if (values['client-secret-file']) {
    try {
      clientSecret = readFileSync(values['client-secret-file'], 'utf8').trim();
    } catch {
      fail('--client-secret-file: cannot read the file');
    }
  }
  if (!clientSecret || clientSecret.length < 16) fail('--client-secret: required, at least 16 characters');
  const redirectUris = values['redirect-uri'] ?? [];
  if (redirectUris.length === 0) fail('--redirect-uri: required (repeat it for several)');
  for (const uri of redirectUris) {
    if (!URL.canParse(uri) || !/^https?:$/.test(new URL(uri).protocol)) fail(`--redirect-uri: "${uri}" is not an http(s) URL`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(values.accounts, 'utf8'));
  } catch (error) {
    fail(`--accounts: ${values.accounts}: ${(error as Error).message}`);
  }
  const accounts = DemoAccountsFile.safeParse(raw);
  if (!accounts.success) {
    fail(`--accounts: ${values.accounts}: ${formatIssues(accounts.error.issues, '(file)').join('; ')}`);
  }
  return { port, clientId: values['client-id'], clientSecret, redirectUris, accounts: accounts.data.accounts };
}

const options = parseOptions(process.argv.slice(2));
const bySub = new Map(options.accounts.map((a) => [a.sub, a]));
const byUsername = new Map(options.accounts.map((a) => [a.username, a]));

/** Compares hashes so neither the length nor the content of the password leaks through timing. */
function passwordMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function page(res: ServerResponse, status: number, title: string, body: string): void {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    'X-Frame-Options': 'DENY',
  });
  res.end(html);
}

function loginForm(uid: string, message?: string): string {
  return `${message ? `<p role="alert">${escapeHtml(message)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label>User name <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button>
</form>`;
}

function consentForm(uid: string, clientId: string, scopes: string[]): string {
  return `<p>${escapeHtml(clientId)} asks for: ${scopes.map(escapeHtml).join(', ')}</p>
<form method="post" action="/interaction/${escapeHtml(uid)}/confirm"><button type="submit">Continue</button></form>
<form method="post" action="/interaction/${escapeHtml(uid)}/abort"><button type="submit">Cancel</button></form>`;
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return new URLSearchParams();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function main(): Promise<void> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const configuration: Configuration = {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
      },
    ],
    responseTypes: ['code'],
    pkce: { required: () => true },
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // The ID token itself carries the profile and group claims, like the city's IdP does for Oshirase.
    conformIdTokenClaims: false,
    claims: { openid: ['sub'], profile: ['name'], groups: ['groups', 'wards'] },
    features: { devInteractions: { enabled: false }, revocation: { enabled: false } },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => {
      const account = bySub.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: () => ({ sub, name: account.name, groups: account.groups, wards: account.wards }),
      };
    },
    ttl: { AuthorizationCode: 60, IdToken: 300, AccessToken: 300, Interaction: 600, Session: 3600, Grant: 3600 },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head><body><h1>Sign-in error</h1><p>${escapeHtml(String(out.error))}: ${escapeHtml(String(out.error_description ?? ''))}</p></body></html>`;
    },
  };
  const provider = new Provider(issuer, configuration);
  const oidc = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse, uid: string, action: string | undefined): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return page(res, 400, 'Sign-in error', '<p>This sign-in page does not belong to the current sign-in. Start again.</p>');
    const clientId = String(details.params.client_id ?? '');
    if (req.method === 'GET' && action === undefined) {
      if (details.prompt.name === 'login') return page(res, 200, 'Sign in', loginForm(uid));
      return page(res, 200, 'Allow access', consentForm(uid, clientId, String(details.params.scope ?? '').split(' ')));
    }
    if (req.method !== 'POST') return page(res, 405, 'Sign-in error', '<p>Method not allowed.</p>');
    if (action === 'login') {
      const form = await readForm(req);
      const account = byUsername.get(form.get('username') ?? '');
      // Always compare, so a wrong user name takes as long as a wrong password.
      const ok = passwordMatches(form.get('password') ?? '', account?.password ?? randomBytes(16).toString('hex')) && account !== undefined;
      if (!ok) return page(res, 401, 'Sign in', loginForm(uid, 'The user name or the password is wrong.'));
      await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
      return;
    }
    if (action === 'confirm') {
      if (details.prompt.name !== 'consent' || !details.session?.accountId) return page(res, 400, 'Sign-in error', '<p>Nothing to confirm.</p>');
      const grant = details.grantId ? (await provider.Grant.find(details.grantId))! : new provider.Grant({ accountId: details.session.accountId, clientId });
      const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
      if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }
    if (action === 'abort') {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the user cancelled' }, { mergeWithLastSubmission: false });
      return;
    }
    return page(res, 404, 'Sign-in error', '<p>Not found.</p>');
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/.exec((req.url ?? '').split('?')[0]!);
    if (!match) {
      oidc(req, res);
      return;
    }
    interaction(req, res, match[1]!, match[2]).catch((error: unknown) => {
      // The error class only: an expired or foreign interaction, never the form's content.
      const name = error instanceof Error ? error.name : 'error';
      if (!res.headersSent) page(res, 400, 'Sign-in error', `<p>${escapeHtml(name)}: this sign-in has expired or is not yours. Start again.</p>`);
      else res.end();
    });
  });

  process.stdout.write(`OIDC_PROVIDER_READY ${issuer}\n`);

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      server.close(() => process.exit(0));
      server.closeAllConnections();
    });
  }
}

main().catch((error: unknown) => fail(error instanceof Error ? error.message : String(error)));
