import { z } from 'zod';

/**
 * A resident's email address, checked where it enters the engine and again
 * before a send: exactly one bare address (RFC 5321/5322 addr-spec, dot-atom
 * form), so that what is stored can never add a recipient or a header to a
 * notice — a comma names a second recipient, a CR/LF starts a new header line
 * (`\r\nBcc: …`), a display name or angle brackets carry more than an address.
 *
 * Accepted: `local@domain` where the local part is dot-atom text (letters,
 * digits, !#$%&'*+/=?^_`{|}~- and non-ASCII, dots between them) of at most 64
 * octets, and the domain is host names joined by dots (at least one dot; no IP
 * literal, which no resident's mailbox needs), 254 octets in all. Quoted local
 * parts ("john smith"@…) are refused: valid but never seen in a register, and
 * the one form in which a comma or a space would be part of an address.
 *
 * Reasons never repeat the address (no personal data in errors or logs).
 */

export const EMAIL_MAX_OCTETS = 254;
export const EMAIL_LOCAL_MAX_OCTETS = 64;

export type EmailAddressCheck = { ok: true; address: string } | { ok: false; reason: string };

const ATEXT_SYMBOLS = new Set("!#$%&'*+/=?^_`{|}~-".split(''));

function isLetterOrDigit(code: number): boolean {
  return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

/** Why `value` is not exactly one usable email address, or the address. */
export function checkEmailAddress(value: string): EmailAddressCheck {
  if (value.length === 0) return { ok: false, reason: 'is empty' };
  if (value.includes('\r') || value.includes('\n')) return { ok: false, reason: 'contains a line break (CR or LF): it could add header lines to a notice' };
  if (value.includes('\0')) return { ok: false, reason: 'contains a NUL character' };
  if (value.includes(',') || value.includes(';')) return { ok: false, reason: 'names more than one address (comma or semicolon): give exactly one' };
  if (value.includes('<') || value.includes('>') || value.includes('"'))
    return { ok: false, reason: 'has a display name, quotes or angle brackets: give the bare address (name@example.jp)' };
  if (/\s/u.test(value)) return { ok: false, reason: 'contains whitespace' };
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code < 32 || code === 127 || (code >= 0x80 && code <= 0x9f)) return { ok: false, reason: 'contains a control character' };
  }
  if (Buffer.byteLength(value, 'utf8') > EMAIL_MAX_OCTETS) return { ok: false, reason: `is longer than ${EMAIL_MAX_OCTETS} octets` };
  const at = value.lastIndexOf('@');
  if (at < 0) return { ok: false, reason: 'has no "@"' };
  if (value.indexOf('@') !== at) return { ok: false, reason: 'has more than one "@"' };
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);

  if (local.length === 0) return { ok: false, reason: 'has nothing before the "@"' };
  if (Buffer.byteLength(local, 'utf8') > EMAIL_LOCAL_MAX_OCTETS)
    return { ok: false, reason: `has a local part (before the "@") longer than ${EMAIL_LOCAL_MAX_OCTETS} octets` };
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..'))
    return { ok: false, reason: 'has a local part that starts or ends with a dot, or has two dots in a row' };
  for (const char of local) {
    const code = char.codePointAt(0)!;
    if (char !== '.' && !isLetterOrDigit(code) && !ATEXT_SYMBOLS.has(char) && code < 0x80) {
      return { ok: false, reason: `has a character not allowed in the local part ("${char}")` };
    }
  }

  if (domain.length === 0) return { ok: false, reason: 'has no domain after the "@"' };
  if (domain.startsWith('[')) return { ok: false, reason: 'has an IP address as its domain: give a domain name' };
  const labels = domain.split('.');
  if (labels.length < 2) return { ok: false, reason: 'has a domain without a dot (name@example.jp)' };
  for (const label of labels) {
    if (label.length === 0) return { ok: false, reason: 'has an empty label in its domain (two dots in a row, or a leading or trailing dot)' };
    if (Buffer.byteLength(label, 'utf8') > 63) return { ok: false, reason: 'has a domain label longer than 63 octets' };
    if (label.startsWith('-') || label.endsWith('-')) return { ok: false, reason: 'has a domain label that starts or ends with a hyphen' };
    for (const char of label) {
      const code = char.codePointAt(0)!;
      // Letters, digits and hyphens; non-ASCII for internationalised domain names.
      if (!isLetterOrDigit(code) && char !== '-' && code < 0x80) return { ok: false, reason: `has a character not allowed in a domain name ("${char}")` };
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1]!)) return { ok: false, reason: 'has an IP address as its domain: give a domain name' };
  return { ok: true, address: value };
}

/** The same check as a zod schema, for request bodies and imports: the issue's message is the reason. */
export const EmailAddressSchema = z.string().transform((value, ctx) => {
  const checked = checkEmailAddress(value);
  if (!checked.ok) {
    ctx.addIssue({ code: 'custom', message: checked.reason });
    return z.NEVER;
  }
  return checked.address;
});

/** A stored or given address that is not exactly one usable address; `field` names where it came from. */
export class InvalidEmailAddressError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'InvalidEmailAddressError';
  }
}
