/**
 * A headless Chromium for the console's browser tests: Debian's /usr/bin/chromium (or CHROMIUM_PATH)
 * driven by playwright-core, which downloads no browser of its own. Started with the flags a closed
 * network needs (no background connections, no component updates, no sync) and a fresh profile, which
 * Playwright makes for every launch. A missing Chromium fails the test with how to install it.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM_PATH}: the console's browser tests need it. ` +
        'Install it with `bash dev/scripts/ensure-test-tools.sh` (Debian: apt-get install chromium fonts-noto-cjk), ' +
        'or point CHROMIUM_PATH at a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

const require = createRequire(import.meta.url);
const AXE_SCRIPT = require.resolve('axe-core/axe.min.js');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[]; failureSummary?: string }>;
}

/**
 * The WCAG 2.1 A and AA violations axe-core finds on the page as it stands (the page's context must
 * bypass its Content-Security-Policy, which allows no script: axe is injected).
 */
export async function wcagViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ path: AXE_SCRIPT });
  const result = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: unknown[] }> } }).axe;
    return axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, resultTypes: ['violations'] });
  });
  return (result.violations as AxeViolation[]).map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })),
  }));
}

/**
 * Opens a console page without a session: the service sends the browser to the OpenID provider's login form,
 * which is filled in as a person would; the browser comes back to `landOn` (the page it asked for by default).
 */
export async function signInToConsole(page: Page, account: { base: string; username: string; password: string }, path: string, landOn = path): Promise<void> {
  const { base } = account;
  await page.goto(`${base}${path}`);
  await page.getByLabel('User name').fill(account.username);
  await page.getByLabel('Password').fill(account.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // The provider may ask to confirm the grant once.
  const continueButton = page.getByRole('button', { name: 'Continue' });
  await page.waitForURL((url) => url.origin === base || url.pathname.includes('/interaction/'), { waitUntil: 'load' });
  if (new URL(page.url()).origin !== base && (await continueButton.count()) > 0) await continueButton.click();
  await page.waitForURL(`${base}${landOn}`);
}
