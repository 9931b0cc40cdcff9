import { join } from 'node:path';
import { makePrivateDir, writePrivateFileAt } from '../foundation/private-files';
import { emailMessageBytes } from '../channels/email/email-message';
import { pushMessageFile } from '../channels/push/push-message';
import { datedLetter } from '../channels/letter/letter-message';
import { renderLetterPdf } from '../channels/letter/letter-pdf';
import { todayInTokyo } from '../foundation/tokyo-calendar';
import type { Channel } from '../store/schema';
import { fallbackDetail, type SendAttempt, type SendRequest } from './send-attempt';
import { emailNoticeMessage, letterNoticeMessage, pushNoticeMessage } from './notice-messages';

/** The header that tells a rehearsed email from a sent one; everything else is the real message. */
export const REHEARSAL_MARKER = { name: 'X-Oshirase-Test-Mode', value: 'rehearsal' } as const;

/**
 * Test mode (OSHIRASE_TEST_MODE): the notice is rendered exactly as it would be
 * sent and recorded in the ledger, but nothing leaves the machine — the .eml,
 * the push payload or the letter PDF lands in the rehearsal folder instead. This
 * is how a city rehearses a new rule on real data. The message is the one the
 * real send builds (notice-messages.ts), so the rehearsal cannot drift from it.
 */
export async function rehearseNotice(channel: Channel, request: SendRequest): Promise<SendAttempt> {
  const { deps, resident, ledger } = request;
  // One day for the folder and the letter's date.
  const today = todayInTokyo();
  const dir = join(deps.config.dataDir, 'rehearsal', today);
  // Rehearsed notices are the real ones, names and addresses included.
  await makePrivateDir(dir);
  const base = join(dir, ledger.idempotency_key.replace(/[^A-Za-z0-9._-]+/g, '_'));
  switch (channel) {
    case 'email': {
      const built = emailNoticeMessage(request, REHEARSAL_MARKER);
      if (built.kind === 'unreachable') return built;
      const path = `${base}.eml`;
      await writePrivateFileAt(path, await emailMessageBytes(built.message));
      return { kind: 'sent', providerRef: `rehearsal:${built.message.messageId ?? ''}`, detail: { rehearsal: true, path, ...fallbackDetail(built.rendered) } };
    }
    case 'push': {
      const devices = await deps.db.selectFrom('push_subscriptions').select('id').where('resident_id', '=', resident.id).execute();
      if (devices.length === 0) return { kind: 'unreachable', reason: 'no push subscription' };
      const { message, rendered } = await pushNoticeMessage(request);
      const path = `${base}.push.json`;
      await writePrivateFileAt(path, pushMessageFile(message, { devices: devices.length }));
      return { kind: 'sent', providerRef: `rehearsal:${devices.length} devices`, detail: { rehearsal: true, path, ...fallbackDetail(rendered) } };
    }
    case 'letter': {
      const built = letterNoticeMessage(request);
      if (built.kind === 'unreachable') return built;
      const pdf = await renderLetterPdf(datedLetter(built.message, today, built.reference));
      const path = `${base}.pdf`;
      await writePrivateFileAt(path, pdf);
      return { kind: 'sent', providerRef: `rehearsal:${built.reference}`, detail: { rehearsal: true, path, ...fallbackDetail(built.rendered) } };
    }
  }
}
