import type { Locale } from '../../store/vocabulary';
import type { NoticeVariables, RenderedLetter } from '../../engine/notices/render-notice';
import type { LetterContent } from './letter-pdf';
import { letterAnswer } from '../../engine/outreach/response-links';
import { normalizePostalCode } from './postal-address';

/** A letter but for its date and reference: it is dated the day it is printed, and referenced by its ledger row. */
export type LetterMessage = Omit<LetterContent, 'issuedOn' | 'reference'>;

export interface LetterMessageInput {
  recipient: { postalCode: string; address: string; name: string };
  /** The city's sender block: the office's name and department as the notice names them, its postal address, phone and counter hours. */
  sender: { name: string; department: string; postalCode: string; address: string; phone: string; hours?: string };
  /** PUBLIC_BASE_URL and the letter's formatted code (`links.code`): the answer block with the QR code is built from them. */
  answer: { baseUrl: string; code: string };
  locale: Locale;
  title: string;
  content: RenderedLetter;
  /** Merged notices: further schemes in the same envelope, each with its own formatted answer code. */
  enclosed?: ReadonlyArray<{ title: string; content: RenderedLetter; code: string }>;
}

/** The sender block of a letter: the rule's office as the notice's variables name it (section, address, phone, counter hours). */
export function letterSenderOf(vars: Pick<NoticeVariables, 'city' | 'office'>): LetterMessageInput['sender'] {
  const { office } = vars;
  return { name: vars.city.name, department: office.name, postalCode: office.postalCode, address: office.address, phone: office.phone, hours: office.hours };
}

/**
 * What one letter says and where it goes; the real send (queued for printing),
 * the rehearsal and the preview all build it here. The postal code is printed
 * in its normal form (〒１００－０００５ → 100-0005); one that is no postal code
 * stays as stored (the real send checks addresses before it gets here).
 */
export function buildLetterMessage(input: LetterMessageInput): LetterMessage {
  const { recipient } = input;
  return {
    recipient: { postalCode: normalizePostalCode(recipient.postalCode) ?? recipient.postalCode, address: recipient.address, name: recipient.name },
    sender: { ...input.sender },
    answer: letterAnswer(input.answer.baseUrl, input.answer.code),
    locale: input.locale,
    title: input.title,
    body: input.content.body,
    ...(input.enclosed && input.enclosed.length > 0
      ? { enclosed: input.enclosed.map((e) => ({ title: e.title, body: e.content.body, answer: letterAnswer(input.answer.baseUrl, e.code) })) }
      : {}),
  };
}

/** The whole letter as it is printed on a given day. */
export function datedLetter(message: LetterMessage, issuedOn: string, reference: string): LetterContent {
  return { ...message, issuedOn, reference };
}
