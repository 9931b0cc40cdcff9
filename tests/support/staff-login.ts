/**
 * Signs a staff member in through real HTTP, as a browser would, without a
 * browser: the service's /auth/login, the OpenID provider's login form (and
 * consent form, when it asks), the service's /auth/callback. Cookies are kept
 * per origin; redirects are followed by hand so each step can be inspected.
 */

/** Cookies by origin, then by name (paths ignored: each flow here runs one step after the other). */
export class CookieJar {
  private readonly byOrigin = new Map<string, Map<string, string>>();

  store(url: URL | string, response: Response): void {
    const origin = new URL(url).origin;
    const jar = this.byOrigin.get(origin) ?? new Map<string, string>();
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]!) <= Date.now()));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    this.byOrigin.set(origin, jar);
  }

  header(url: URL | string): string {
    const jar = this.byOrigin.get(new URL(url).origin);
    return jar ? [...jar].map(([n, v]) => `${n}=${v}`).join('; ') : '';
  }

  get(url: URL | string, name: string): string | undefined {
    return this.byOrigin.get(new URL(url).origin)?.get(name);
  }

  set(url: URL | string, name: string, value: string): void {
    const origin = new URL(url).origin;
    const jar = this.byOrigin.get(origin) ?? new Map<string, string>();
    jar.set(name, value);
    this.byOrigin.set(origin, jar);
  }

  delete(url: URL | string, name: string): void {
    this.byOrigin.get(new URL(url).origin)?.delete(name);
  }
}

/** One request with the jar's cookies, no redirect followed; the answer's cookies go into the jar. */
export async function send(jar: CookieJar, url: URL | string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  const cookie = jar.header(url);
  if (cookie) headers.set('cookie', cookie);
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar.store(url, response);
  return response;
}

function location(response: Response, base: URL | string): URL {
  const target = response.headers.get('location');
  if (!target) throw new Error(`expected a redirect, got ${response.status}`);
  return new URL(target, base);
}

/** The first form of an HTML page: its action (absolute) and its input names. */
function firstForm(html: string, base: URL): { action: URL; inputs: string[] } {
  const form = /<form[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error('the page has no form');
  const inputs = [...form[2]!.matchAll(/<input[^>]*name="([^"]+)"/gi)].map((m) => m[1]!);
  return { action: new URL(form[1]!.replace(/&amp;/g, '&'), base), inputs };
}

export class SignInError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(message);
  }
}

/**
 * Runs the sign-in up to the moment the provider sends the browser back:
 * returns the callback URL (not yet visited) and the jar holding the service's
 * sign-in cookie, so a test can visit it, alter it, or visit it twice.
 */
export async function authorizeAtProvider(
  serviceBaseUrl: string,
  providerUrl: string,
  username: string,
  password: string,
  options: { returnTo?: string; jar?: CookieJar } = {},
): Promise<{ callbackUrl: URL; jar: CookieJar; formsSubmitted: string[] }> {
  const jar = options.jar ?? new CookieJar();
  const service = new URL(serviceBaseUrl);
  const provider = new URL(providerUrl);
  const login = new URL('/auth/login', service);
  if (options.returnTo !== undefined) login.searchParams.set('returnTo', options.returnTo);
  let response = await send(jar, login);
  if (response.status !== 302) throw new SignInError(`/auth/login answered ${response.status}`, response.status, await response.text());
  let url = location(response, login);
  let submittedLogin = false;
  const formsSubmitted: string[] = [];
  // A handful of steps: authorize → login page → resume → consent page → resume → callback.
  for (let step = 0; step < 12; step++) {
    if (url.origin === service.origin) return { callbackUrl: url, jar, formsSubmitted };
    if (url.origin !== provider.origin) throw new Error(`redirected to an unexpected origin ${url.origin}`);
    response = await send(jar, url);
    if (response.status >= 300 && response.status < 400) {
      url = location(response, url);
      continue;
    }
    const html = await response.text();
    if (response.status !== 200) throw new SignInError(`the provider answered ${response.status} at ${url.pathname}`, response.status, html);
    const form = firstForm(html, url);
    const body = new URLSearchParams();
    if (form.inputs.includes('username')) {
      if (submittedLogin) throw new SignInError('the provider asked for the password again (wrong user name or password)', 401, html);
      body.set('username', username);
      body.set('password', password);
      submittedLogin = true;
    }
    formsSubmitted.push(form.action.pathname);
    const posted = await send(jar, form.action, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    if (posted.status === 401) throw new SignInError('the provider refused the user name or password', 401, await posted.text());
    if (posted.status < 300 || posted.status >= 400)
      throw new SignInError(`the provider answered ${posted.status} to ${form.action.pathname}`, posted.status, await posted.text());
    url = location(posted, form.action);
  }
  throw new Error('the sign-in did not come back to the service');
}

export interface SignedIn {
  /** The `Cookie` header value to send to the service. */
  cookie: string;
  /** The session's CSRF token, for the `x-csrf-token` header. */
  csrfToken: string;
  subject: string;
  roles: string[];
  wards: string[];
  /** Where the service sent the browser after sign-in (path and query). */
  landedAt: string;
  jar: CookieJar;
}

/** Signs in and returns the session cookie and the CSRF token (from GET /auth/me). */
export async function signInAs(
  serviceBaseUrl: string,
  providerUrl: string,
  username: string,
  password: string,
  options: { returnTo?: string } = {},
): Promise<SignedIn> {
  const { callbackUrl, jar } = await authorizeAtProvider(serviceBaseUrl, providerUrl, username, password, options);
  const callback = await send(jar, callbackUrl);
  if (callback.status !== 303) throw new SignInError(`/auth/callback answered ${callback.status}`, callback.status, await callback.text());
  const landed = location(callback, callbackUrl);
  const me = await send(jar, new URL('/auth/me', serviceBaseUrl));
  if (me.status !== 200) throw new SignInError(`/auth/me answered ${me.status}`, me.status, await me.text());
  const who = (await me.json()) as { subject: string; roles: string[]; wards: string[]; csrfToken: string };
  return {
    cookie: jar.header(serviceBaseUrl),
    csrfToken: who.csrfToken,
    subject: who.subject,
    roles: who.roles,
    wards: who.wards,
    landedAt: `${landed.pathname}${landed.search}`,
    jar,
  };
}
