import { join } from 'node:path';
import { makePrivateDir, writePrivateFileAt } from '../runtime/private-files';
import nodemailer from 'nodemailer';
import { messageIdForToken } from '../channels/email';
import { checkEmailAddress } from '../channels/email-address';
import { letterReference, renderLetterPdf } from '../channels/letter-pdf';
import { todayInTokyo } from '../runtime/tokyo-calendar';
import type { Channel } from '../db/schema';
import { fallbackDetail, type SendAttempt, type SendRequest } from './send-attempt';
import { htmlLang } from '../db/vocabulary';

// Builds the exact MIME message a real send would, without any network.
const mimeOnly = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });

/**
 * Test mode (OSHIRASE_TEST_MODE): the notice is rendered exactly as it would be
 * sent and recorded in the ledger, but nothing leaves the machine — the .eml,
 * the push payload or the letter PDF lands in the rehearsal folder instead. This
 * is how a city rehearses a new rule on real data.
 */
export async function rehearseNotice(channel: Channel, { deps, rule, resident, ledger, vars, variant }: SendRequest): Promise<SendAttempt> {
  const dir = join(deps.config.dataDir, 'rehearsal', todayInTokyo());
  // Rehearsed notices are the real ones, names and addresses included.
  await makePrivateDir(dir);
  const base = join(dir, ledger.idempotency_key.replace(/[^A-Za-z0-9._-]+/g, '_'));
  switch (channel) {
    case 'email': {
      if (!resident.email || resident.email_status === 'invalid') return { kind: 'unreachable', reason: 'no valid email address' };
      // As a real send would: an address with a comma or a CR/LF is not put in a header.
      const address = checkEmailAddress(resident.email);
      if (!address.ok) return { kind: 'unreachable', reason: `the stored email address is not usable: it ${address.reason}` };
      const rendered = deps.renderer.render(rule.templates, 'email', resident.locale, vars, variant);
      if (rendered.channel !== 'email') throw new Error('renderer returned the wrong channel');
      const messageId = messageIdForToken(deps.mail.tokenFor(ledger.idempotency_key));
      const info = await mimeOnly.sendMail({
        from: deps.config.mailFrom, to: address.address, subject: rendered.content.subject, text: rendered.content.text, html: rendered.content.html,
        messageId, headers: { 'Content-Language': htmlLang(resident.locale), 'X-Oshirase-Test-Mode': 'rehearsal' },
      });
      const path = `${base}.eml`;
      await writePrivateFileAt(path, info.message as Buffer);
      return { kind: 'sent', providerRef: `rehearsal:${messageId}`, detail: { rehearsal: true, path, ...fallbackDetail(rendered) } };
    }
    case 'push': {
      const devices = await deps.db.selectFrom('push_subscriptions').select('id').where('resident_id', '=', resident.id).execute();
      if (devices.length === 0) return { kind: 'unreachable', reason: 'no push subscription' };
      const rendered = deps.renderer.render(rule.templates, 'push', resident.locale, vars, variant);
      if (rendered.channel !== 'push') throw new Error('renderer returned the wrong channel');
      const path = `${base}.push.json`;
      await writePrivateFileAt(path, JSON.stringify({ devices: devices.length, payload: { ...rendered.content, tag: ledger.idempotency_key } }, null, 2));
      return { kind: 'sent', providerRef: `rehearsal:${devices.length} devices`, detail: { rehearsal: true, path, ...fallbackDetail(rendered) } };
    }
    case 'letter': {
      if (!resident.postal_code || !resident.address) return { kind: 'unreachable', reason: 'no postal address' };
      const rendered = deps.renderer.render(rule.templates, 'letter', resident.locale, vars, variant);
      if (rendered.channel !== 'letter') throw new Error('renderer returned the wrong channel');
      const reference = letterReference(ledger.id);
      const pdf = await renderLetterPdf({
        recipient: { postalCode: resident.postal_code, address: resident.address, name: vars.resident.honorificName },
        sender: { name: vars.city.name, department: vars.city.office, postalCode: deps.office.postalCode, address: deps.office.address, phone: deps.office.phone },
        issuedOn: todayInTokyo(), locale: resident.locale, title: vars.notice.title, body: rendered.content.body, reference,
      });
      const path = `${base}.pdf`;
      await writePrivateFileAt(path, pdf);
      return { kind: 'sent', providerRef: `rehearsal:${reference}`, detail: { rehearsal: true, path, ...fallbackDetail(rendered) } };
    }
  }
}
