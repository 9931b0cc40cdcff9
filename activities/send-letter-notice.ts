import { renderLetterPdf } from '../channels/letter-pdf';
import { addToPrintOutbox } from '../channels/print-outbox';
import { todayInTokyo } from '../notices/format-dates';
import type { SendAttempt, SendRequest } from './send-attempt';

export async function sendLetterNotice({ deps, rule, resident, ledger, vars }: SendRequest): Promise<SendAttempt> {
  if (!resident.postal_code || !resident.address) return { kind: 'unreachable', reason: 'no postal address' };
  const rendered = deps.renderer.render(rule.templates, 'letter', resident.locale, vars);
  if (rendered.channel !== 'letter') throw new Error('renderer returned the wrong channel');
  const issuedOn = todayInTokyo();
  const reference = `OSR-${String(ledger.id).padStart(8, '0')}`;
  const pdf = await renderLetterPdf({
    recipient: { postalCode: resident.postal_code, address: resident.address, name: vars.resident.honorificName },
    sender: {
      name: vars.city.name,
      department: vars.city.office,
      postalCode: deps.office.postalCode,
      address: deps.office.address,
      phone: deps.office.phone,
    },
    issuedOn,
    locale: resident.locale,
    title: vars.notice.title,
    body: rendered.content.body,
    reference,
  });
  const placed = await addToPrintOutbox(deps.printOutboxDir, {
    deliveryKey: ledger.idempotency_key,
    reference,
    postalCode: resident.postal_code,
    postageClass: 'standard',
    pdf,
    issuedOn,
  });
  return { kind: 'sent', providerRef: reference, detail: { pdfPath: placed.pdfPath, manifestPath: placed.manifestPath } };
}
