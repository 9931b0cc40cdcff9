import { writeAudit } from '../store/audit';
import type { PostageClass } from '../store/schema';
import { describePostalProblems, postalAddressProblems, type PostalAddressProblem } from '../channels/letter/postal-address';
import { loadPrintConfig, type PrintConfig } from '../config/print-config';
import { queuedLetterFor, queueLetter } from '../channels/letter/print-batches';
import { openTaskWithFollowUp } from './open-caseworker-task';
import { fallbackDetail, type SendAttempt, type SendRequest } from './send-attempt';
import { letterNoticeMessage } from './notice-messages';
import { lettersQueued } from '../foundation/metrics';

let printConfig: PrintConfig | undefined;

/**
 * Notices are information (お知らせ), not the formal service of a decision, so
 * ordinary mail is the right class: registered mail would make residents queue
 * at the post office for a letter that only says what they may apply for.
 */
const POSTAGE_CLASS: PostageClass = 'standard';

/**
 * The letter step: check the postal address, then queue the letter into the
 * print batch of its print day. An address the post office could not deliver
 * to is not queued; a caseworker gets an 'unreachable' task to fix it.
 */
export async function sendLetterNotice(request: SendRequest): Promise<SendAttempt> {
  const { deps, resident, ledger } = request;
  if (!resident.postal_code || !resident.address) return { kind: 'unreachable', reason: 'no postal address' };
  printConfig ??= loadPrintConfig();

  // A retried activity whose letter is already queued must not be judged again on an address changed since.
  const alreadyQueued = Boolean(await queuedLetterFor(deps.db, ledger.id));
  if (!alreadyQueued) {
    const problems: PostalAddressProblem[] =
      resident.postal_status === 'invalid'
        ? [{ field: 'address', problem: 'a letter to this address came back; a caseworker has to confirm or correct it' }]
        : postalAddressProblems(
            { postalCode: resident.postal_code, address: resident.address },
            { cityNames: [deps.config.cityName.ja, deps.config.cityName.en] },
          );
    if (problems.length > 0) {
      const reason = `postal address invalid: ${describePostalProblems(problems)}`;
      const ids = { residentId: resident.id, ruleId: ledger.rule_id, ruleVersion: ledger.rule_version, outreachId: ledger.outreach_id };
      await writeAudit(deps.db, { actor: 'engine', action: 'postal-address-invalid', ...ids, detail: { channel: 'letter', deliveryId: ledger.id, problems } });
      await openTaskWithFollowUp(deps, { ...ids, kind: 'unreachable' });
      return { kind: 'unreachable', reason, detail: { problems } };
    }
  }

  const built = letterNoticeMessage(request);
  if (built.kind === 'unreachable') return built;
  const { message, reference, rendered } = built;
  const queued = await queueLetter(
    deps.db,
    {
      deliveryId: ledger.id,
      deliveryKey: ledger.idempotency_key,
      outreachId: ledger.outreach_id,
      residentId: resident.id,
      reference,
      postageClass: POSTAGE_CLASS,
      content: message,
    },
    { outboxDir: deps.printOutboxDir, print: printConfig },
  );
  if (!alreadyQueued) lettersQueued.inc();
  return {
    kind: 'sent',
    providerRef: queued.reference,
    detail: {
      pdfPath: queued.pdfPath,
      manifestPath: queued.queueManifestPath,
      letter: {
        status: queued.status,
        batchId: queued.batchId,
        cutOffAt: queued.cutOffAt.toISOString(),
        postageClass: queued.postageClass,
        pages: queued.pages,
      },
      ...fallbackDetail(rendered),
    },
  };
}
