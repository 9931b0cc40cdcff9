import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';

/**
 * Residents who answer, played by the demo the way a person would: open the
 * notice, follow the link, press the button on the page.
 */
export async function findLinkInEmail(smtpDir: string, address: string, label: string): Promise<string | null> {
  if (!existsSync(smtpDir)) return null;
  for (const file of readdirSync(smtpDir).filter((f) => f.endsWith('.eml'))) {
    const raw = readFileSync(join(smtpDir, file));
    if (!raw.subarray(0, 300).toString().startsWith(`X-Envelope-To: ${address}`)) continue;
    const mail = await simpleParser(raw);
    const html = typeof mail.html === 'string' ? mail.html : '';
    for (const match of html.matchAll(/<a href="([^"]+)">([^<]+)<\/a>/g)) {
      if (match[2]!.trim() === label) return match[1]!.replace(/&amp;/g, '&');
    }
  }
  return null;
}

export function findLinkInPush(pushDir: string, deviceId: string): string | null {
  const dir = join(pushDir, 'received', deviceId);
  if (!existsSync(dir)) return null;
  const last = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .at(-1);
  if (!last) return null;
  const record = JSON.parse(readFileSync(join(dir, last), 'utf8')) as { payload: { url: string } };
  return record.payload.url;
}

/** Opens the response page, then presses its confirm button (a form POST). Returns the page's heading. */
export async function clickResponseLink(url: string): Promise<string> {
  const page = await fetch(url);
  if (!page.ok) throw new Error(`GET ${url} answered ${page.status}`);
  const confirm = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '' });
  const html = await confirm.text();
  const heading = /<h1[^>]*>([\s\S]*?)<\/h1>/
    .exec(html)?.[1]
    ?.replace(/<[^>]+>/g, '')
    .trim();
  return `${confirm.status} ${heading ?? ''}`.trim();
}
