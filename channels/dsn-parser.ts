/**
 * Parser of delivery status notifications (RFC 3464, carried in a
 * multipart/report of RFC 6522; the UTF-8 variant of RFC 6533 too): the bounces
 * a receiving mail system sends back, often hours after our server accepted
 * the notice. Only what the engine needs: per recipient the final address,
 * action and status, and what identifies our original message (its Message-ID,
 * our delivery header, the envelope id).
 */

export type DsnAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';
const ACTIONS: readonly DsnAction[] = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'];

export interface DsnRecipient {
  /** The address the report is about (Final-Recipient, without its address type). */
  finalRecipient: string;
  originalRecipient: string | null;
  action: DsnAction;
  /** The enhanced status code, e.g. 5.1.1. */
  status: string;
  /** From the status class: 5 permanent, 4 transient (persistent transient failure), 2 success. */
  statusClass: 'permanent' | 'transient' | 'success';
  diagnosticCode: string | null;
  remoteMta: string | null;
}

export interface DeliveryStatusReport {
  /** The Message-ID of the report itself (null when the reporting system gave none). */
  reportMessageId: string | null;
  reportingMta: string | null;
  /** Original-Envelope-Id: the ENVID we sent with the message (our delivery token). */
  envelopeId: string | null;
  /** Message-IDs of the original message: from the returned headers and any Original-Message-ID field. */
  originalMessageIds: string[];
  /** Our delivery header (X-Oshirase-Delivery) as found in the returned headers. */
  deliveryTokens: string[];
  recipients: DsnRecipient[];
}

/** The input is not a delivery status notification; the message says why, in one line. */
export class DsnParseError extends Error {}

type Headers = Map<string, string[]>;

interface MimePart {
  type: string;
  params: Record<string, string>;
  headers: Headers;
  /** The body after undoing the transfer encoding. */
  body: string;
  children: MimePart[];
}

const MAX_DEPTH = 8;
const RETURNED_HEADER_TYPES = new Set(['text/rfc822-headers', 'text/rfc822-header', 'message/rfc822', 'message/rfc822-headers', 'message/global', 'message/global-headers']);
const STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const REPORT_TYPES = new Set(['delivery-status', 'global-delivery-status']);

export function parseDsn(raw: Buffer | string): DeliveryStatusReport {
  const text = (typeof raw === 'string' ? raw : raw.toString('utf8')).replace(/^\uFEFF/, '');
  if (text.trim() === '') throw new DsnParseError('the message is empty');
  const message = parsePart(text.replace(/^From [^\n]*\n/, ''), 0); // an mbox "From " line may lead
  if (message.headers.size === 0) throw new DsnParseError('not an email message: no header fields at the start');

  const report = findReport(message);
  if (!report) {
    throw new DsnParseError(`not a delivery status notification: the message is ${message.type}, not multipart/report; report-type=delivery-status`);
  }
  const statusPart = report.children.find((c) => STATUS_TYPES.has(c.type));
  if (!statusPart) throw new DsnParseError('the multipart/report has no message/delivery-status part');

  const groups = statusPart.body
    .split(/\r?\n[ \t]*\r?\n/)
    .map((g) => g.trim())
    .filter((g) => g.length > 0)
    .map(parseHeaderBlock);
  const perMessage = groups.filter((g) => !g.has('final-recipient'));
  const recipientGroups = groups.filter((g) => g.has('final-recipient'));
  if (recipientGroups.length === 0) throw new DsnParseError('the delivery-status part names no recipient (no Final-Recipient field)');
  const recipients = recipientGroups.map(parseRecipient);

  const returned = report.children.find((c) => RETURNED_HEADER_TYPES.has(c.type));
  const returnedHeaders = returned ? parseHeaderBlock(splitHeaderBody(returned.body).headerText) : new Map<string, string[]>();
  const messageLevel = (name: string) => perMessage.flatMap((g) => g.get(name) ?? []);

  const originalMessageIds = unique(
    [...(returnedHeaders.get('message-id') ?? []), ...messageLevel('original-message-id'), ...recipientGroups.flatMap((g) => g.get('original-message-id') ?? [])]
      .map(messageIdIn)
      .filter((id): id is string => id !== null),
  );
  const deliveryTokens = unique((returnedHeaders.get('x-oshirase-delivery') ?? []).map((v) => v.trim()).filter((v) => /^[0-9a-f]{32}$/i.test(v)).map((v) => v.toLowerCase()));

  return {
    reportMessageId: messageIdIn(first(message.headers, 'message-id') ?? ''),
    reportingMta: typedValue(messageLevel('reporting-mta')[0] ?? null),
    envelopeId: decodeXtext(messageLevel('original-envelope-id')[0]?.trim() ?? '') || null,
    originalMessageIds,
    deliveryTokens,
    recipients,
  };
}

function parseRecipient(fields: Headers): DsnRecipient {
  const finalField = first(fields, 'final-recipient')!;
  const finalRecipient = typedAddress(finalField);
  if (!finalRecipient) throw new DsnParseError(`Final-Recipient "${finalField}" names no address (expected "rfc822; name@example.jp")`);
  const actionField = first(fields, 'action');
  if (actionField === undefined) throw new DsnParseError(`recipient ${finalRecipient}: no Action field`);
  const action = actionField.trim().toLowerCase().split(/[\s(;]/)[0] as DsnAction;
  if (!ACTIONS.includes(action)) {
    throw new DsnParseError(`recipient ${finalRecipient}: Action "${actionField.trim()}" is not one of ${ACTIONS.join(', ')}`);
  }
  const statusField = first(fields, 'status');
  if (statusField === undefined) throw new DsnParseError(`recipient ${finalRecipient}: no Status field`);
  const status = /^\s*([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])/.exec(statusField);
  if (!status) throw new DsnParseError(`recipient ${finalRecipient}: Status "${statusField.trim()}" is not a status code like 5.1.1`);
  const original = first(fields, 'original-recipient');
  return {
    finalRecipient,
    originalRecipient: original ? typedAddress(original) : null,
    action,
    status: `${status[1]}.${Number(status[2])}.${Number(status[3])}`,
    statusClass: status[1] === '5' ? 'permanent' : status[1] === '4' ? 'transient' : 'success',
    diagnosticCode: typedValue(first(fields, 'diagnostic-code') ?? null),
    remoteMta: typedValue(first(fields, 'remote-mta') ?? null),
  };
}

function findReport(part: MimePart): MimePart | null {
  if (part.type === 'multipart/report' && REPORT_TYPES.has((part.params['report-type'] ?? '').toLowerCase())) return part;
  for (const child of part.children) {
    const found = findReport(child);
    if (found) return found;
  }
  return null;
}

function parsePart(text: string, depth: number): MimePart {
  const { headerText, body } = splitHeaderBody(text);
  const headers = parseHeaderBlock(headerText);
  const { type, params } = parseContentType(first(headers, 'content-type'));
  const decoded = decodeTransfer(body, (first(headers, 'content-transfer-encoding') ?? '7bit').trim().toLowerCase());
  const children =
    type.startsWith('multipart/') && params.boundary && depth < MAX_DEPTH ? splitMultipart(decoded, params.boundary).map((p) => parsePart(p, depth + 1)) : [];
  return { type, params, headers, body: decoded, children };
}

function splitHeaderBody(text: string): { headerText: string; body: string } {
  const blank = /\r?\n\r?\n/.exec(text);
  // A part that starts with a blank line has no header fields, only a body.
  if (/^\r?\n/.test(text)) return { headerText: '', body: text.replace(/^\r?\n/, '') };
  return blank ? { headerText: text.slice(0, blank.index), body: text.slice(blank.index + blank[0].length) } : { headerText: text, body: '' };
}

/** Header fields by lower-case name, unfolded; lines that are not fields are skipped. */
function parseHeaderBlock(text: string): Headers {
  const fields: Array<{ name: string; value: string }> = [];
  let last: { name: string; value: string } | null = null;
  for (const line of text.split(/\r?\n/)) {
    if (/^[ \t]/.test(line)) {
      if (last) last.value += ` ${line.trim()}`;
      continue;
    }
    const field = /^([!-9;-~]+)[ \t]*:(.*)$/.exec(line);
    last = field ? { name: field[1]!.toLowerCase(), value: field[2]! } : null;
    if (last) fields.push(last);
  }
  const headers: Headers = new Map();
  for (const f of fields) headers.set(f.name, [...(headers.get(f.name) ?? []), f.value.trim()]);
  return headers;
}

function parseContentType(value: string | undefined): { type: string; params: Record<string, string> } {
  if (!value) return { type: 'text/plain', params: {} };
  const semicolon = value.indexOf(';');
  const type = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  const params: Record<string, string> = {};
  const pattern = /;\s*([^=\s;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)/g;
  for (const m of value.slice(Math.max(semicolon, 0)).matchAll(pattern)) {
    const raw = m[2]!;
    params[m[1]!.toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
  }
  return { type: type.includes('/') ? type : 'text/plain', params };
}

function decodeTransfer(body: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes: number[] = [];
    const text = body.replace(/=\r?\n/g, '');
    for (let i = 0; i < text.length; i++) {
      const hex = text[i] === '=' ? /^[0-9A-Fa-f]{2}/.exec(text.slice(i + 1, i + 3)) : null;
      if (hex) {
        bytes.push(parseInt(hex[0], 16));
        i += 2;
      } else {
        bytes.push(...Buffer.from(text[i]!, 'utf8'));
      }
    }
    return Buffer.from(bytes).toString('utf8');
  }
  return body;
}

function splitMultipart(body: string, boundary: string): string[] {
  const parts: string[] = [];
  let current: string[] | null = null;
  for (const line of body.split(/\r?\n/)) {
    const trimmed = line.trimEnd();
    if (trimmed === `--${boundary}--`) {
      if (current) parts.push(current.join('\n'));
      return parts;
    }
    if (trimmed === `--${boundary}`) {
      if (current) parts.push(current.join('\n'));
      current = [];
      continue;
    }
    current?.push(line);
  }
  // A report cut short (no closing delimiter) still yields the parts it has.
  if (current) parts.push(current.join('\n'));
  return parts;
}

const first = (headers: Headers, name: string): string | undefined => headers.get(name)?.[0];

/** "rfc822; Name@Example.jp" → "Name@Example.jp" (utf-8 addresses of RFC 6533 decoded). */
function typedAddress(value: string): string | null {
  const semicolon = value.indexOf(';');
  const type = semicolon < 0 ? 'rfc822' : value.slice(0, semicolon).trim().toLowerCase();
  let address = (semicolon < 0 ? value : value.slice(semicolon + 1)).trim().replace(/^<(.*)>$/, '$1').trim();
  if (type === 'utf-8') address = address.replace(/\\x\{([0-9A-Fa-f]{1,6})\}/g, (_, hex: string) => String.fromCodePoint(parseInt(hex, 16)));
  else address = decodeXtext(address);
  return /^[^\s@]+@[^\s@]+$/.test(address) ? address : null;
}

/** "smtp; 550 5.1.1 …" → "550 5.1.1 …"; "dns; mx.example.jp" → "mx.example.jp". */
function typedValue(value: string | null): string | null {
  if (value === null) return null;
  const semicolon = value.indexOf(';');
  return (semicolon < 0 ? value : value.slice(semicolon + 1)).trim() || null;
}

/** xtext (RFC 3461): "+2B" for "+"; ENVID and ORCPT come back in it. */
function decodeXtext(value: string): string {
  return value.replace(/\+([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function messageIdIn(value: string): string | null {
  const bracketed = /<[^<>\s]+@[^<>\s]+>/.exec(value);
  if (bracketed) return bracketed[0];
  const bare = value.trim();
  return /^[^<>\s]+@[^<>\s]+$/.test(bare) ? `<${bare}>` : null;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
