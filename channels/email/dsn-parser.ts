/**
 * Parser of delivery status notifications (RFC 3464, carried in a
 * multipart/report of RFC 6522; the UTF-8 variant of RFC 6533 too): the bounces
 * a receiving mail system sends back, often hours after our server accepted
 * the notice. Only what the engine needs: per recipient the final address,
 * action and status, and what identifies our original message (its Message-ID,
 * our delivery header, the envelope id, the VERP return address).
 *
 * Anyone who can reach the bounce route chooses the input, so the parser works
 * in time linear in the input whatever it holds: plain string scanning with
 * indexOf and character loops, no regular expression that can backtrack over
 * attacker-controlled text (small fixed-size checks only), and limits on what
 * it reads (DSN_LIMITS) that end a hostile message with a DsnParseError early.
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
  /**
   * Delivery tokens in the address the report was returned to (To, Delivered-To,
   * X-Original-To of the report): the VERP return path `bounces+<token>@city`.
   */
  returnPathTokens: string[];
  recipients: DsnRecipient[];
}

/** The input is not a delivery status notification (or exceeds a limit); the message says why, in one line. */
export class DsnParseError extends Error {}

/**
 * What the parser reads at most. A real report is a few kilobytes of header
 * fields and one to a handful of recipients; these bounds are far above that.
 */
export const DSN_LIMITS = {
  /** One physical header line, without its line break (RFC 5322 section 2.1.1). */
  headerLineChars: 998,
  /** One header block (the report's own, a part's, the returned message's, the delivery-status fields). */
  headerBlockChars: 64 * 1024,
  /** Lines of one header block (a report's header has tens; a long Received chain, a hundred or two). */
  headerBlockLines: 1000,
  /** Lines of the delivery-status part (about ten per recipient). */
  statusPartLines: 4000,
  /** MIME parts in the whole message, nested ones included. */
  parts: 64,
  /** Nesting of multiparts that is still looked into. */
  depth: 8,
  /** Recipients (Final-Recipient groups) in one report. */
  recipients: 100,
  /** Lines of a multipart body that start like its delimiter but are not one (a real body has none). */
  falseDelimiters: 1000,
  /** RFC 2046: a boundary is 1 to 70 characters. */
  boundaryChars: 70,
} as const;

/** The 32 hexadecimal digits of a delivery token (see channels/email/email.ts). */
export const DELIVERY_TOKEN_LENGTH = 32;

type Headers = Map<string, string[]>;

interface MimePart {
  type: string;
  params: Record<string, string>;
  headers: Headers;
  /** The body as it appears in the message (still transfer-encoded). */
  rawBody: string;
  encoding: string;
  children: MimePart[];
}

const RETURNED_HEADER_TYPES = new Set([
  'text/rfc822-headers',
  'text/rfc822-header',
  'message/rfc822',
  'message/rfc822-headers',
  'message/global',
  'message/global-headers',
]);
const STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const REPORT_TYPES = new Set(['delivery-status', 'global-delivery-status']);
/** Header fields of the report that name the address it was sent to: the VERP address, if the relay kept it. */
const RETURN_ADDRESS_FIELDS = ['to', 'delivered-to', 'x-original-to', 'envelope-to'];

const LF = 10;
const CR = 13;
const SPACE = 32;
const TAB = 9;

export function parseDsn(raw: Buffer | string): DeliveryStatusReport {
  let text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new DsnParseError('the message is empty');
  // An mbox "From " line may lead.
  if (text.startsWith('From ')) {
    const newline = text.indexOf('\n');
    text = newline < 0 ? '' : text.slice(newline + 1);
  }
  const budget = { parts: 0 };
  const message = parsePart(text, 0, budget, 'the message');
  if (message.headers.size === 0) throw new DsnParseError('not an email message: no header fields at the start');

  const report = findReport(message);
  if (!report) {
    throw new DsnParseError(
      `not a delivery status notification: the message is ${shown(message.type, 100)}, not multipart/report; report-type=delivery-status`,
    );
  }
  const statusPart = report.children.find((c) => STATUS_TYPES.has(c.type));
  if (!statusPart) throw new DsnParseError('the multipart/report has no message/delivery-status part');

  // Checked before decoding as well: base64 and quoted-printable are at most 3 times the size of what they encode.
  if (statusPart.rawBody.length > 3 * DSN_LIMITS.headerBlockChars)
    throw new DsnParseError(`the delivery-status part is longer than ${DSN_LIMITS.headerBlockChars} characters`);
  const groups = readFieldGroups(decodedBody(statusPart));
  const perMessage = groups.filter((g) => !g.has('final-recipient'));
  const recipientGroups = groups.filter((g) => g.has('final-recipient'));
  if (recipientGroups.length === 0) throw new DsnParseError('the delivery-status part names no recipient (no Final-Recipient field)');
  const recipients = recipientGroups.map((g, i) => parseRecipient(g, i + 1));

  const returned = report.children.find((c) => RETURNED_HEADER_TYPES.has(c.type));
  const returnedHeaders = returned ? readHeaderBlock(decodedBody(returned), 0, 'the returned message').headers : new Map<string, string[]>();
  const messageLevel = (name: string) => perMessage.flatMap((g) => g.get(name) ?? []);

  const originalMessageIds = unique(
    [
      ...(returnedHeaders.get('message-id') ?? []),
      ...messageLevel('original-message-id'),
      ...recipientGroups.flatMap((g) => g.get('original-message-id') ?? []),
    ]
      .map(messageIdIn)
      .filter((id): id is string => id !== null),
  );
  const deliveryTokens = unique((returnedHeaders.get('x-oshirase-delivery') ?? []).map((v) => v.trim().toLowerCase()).filter(isDeliveryToken));
  const returnPathTokens = unique(RETURN_ADDRESS_FIELDS.flatMap((name) => message.headers.get(name) ?? []).flatMap(verpTokensIn));

  return {
    reportMessageId: messageIdIn(first(message.headers, 'message-id') ?? ''),
    reportingMta: typedValue(messageLevel('reporting-mta')[0] ?? null),
    envelopeId: decodeXtext(messageLevel('original-envelope-id')[0]?.trim() ?? '') || null,
    originalMessageIds,
    deliveryTokens,
    returnPathTokens,
    recipients,
  };
}

/** Errors name the recipient by its place in the report, never by its address (no personal data in errors). */
function parseRecipient(fields: Headers, index: number): DsnRecipient {
  const finalField = first(fields, 'final-recipient')!;
  const finalRecipient = typedAddress(finalField);
  if (!finalRecipient) throw new DsnParseError(`recipient ${index}: Final-Recipient names no address (expected "rfc822; name@example.jp")`);
  const actionField = first(fields, 'action');
  if (actionField === undefined) throw new DsnParseError(`recipient ${index}: no Action field`);
  const action = firstWord(actionField.trim().toLowerCase()) as DsnAction;
  if (!ACTIONS.includes(action)) {
    throw new DsnParseError(`recipient ${index}: Action "${shown(actionField.trim(), 40)}" is not one of ${ACTIONS.join(', ')}`);
  }
  const statusField = first(fields, 'status');
  if (statusField === undefined) throw new DsnParseError(`recipient ${index}: no Status field`);
  const status = statusCode(statusField);
  if (!status) throw new DsnParseError(`recipient ${index}: Status "${shown(statusField.trim(), 40)}" is not a status code like 5.1.1`);
  const original = first(fields, 'original-recipient');
  return {
    finalRecipient,
    originalRecipient: original ? typedAddress(original) : null,
    action,
    status,
    statusClass: status[0] === '5' ? 'permanent' : status[0] === '4' ? 'transient' : 'success',
    diagnosticCode: typedValue(first(fields, 'diagnostic-code') ?? null),
    remoteMta: typedValue(first(fields, 'remote-mta') ?? null),
  };
}

/** The word before the first whitespace, "(" or ";": "failed (bad destination)" → "failed". */
function firstWord(value: string): string {
  let end = 0;
  while (end < value.length) {
    const c = value[end];
    if (c === ' ' || c === '\t' || c === '(' || c === ';') break;
    end++;
  }
  return value.slice(0, end);
}

/** "5.1.1 (unknown user)" → "5.1.1"; numbers lose leading zeros ("4.04.01" → "4.4.1"); null when it is not a status code. */
function statusCode(field: string): string | null {
  const value = field.trimStart();
  // Class digit, then two groups of one to three digits; a further digit or dot makes it something else.
  if (value.length < 5 || !'245'.includes(value[0]!) || value[1] !== '.') return null;
  let i = 2;
  const groups: number[] = [];
  for (let g = 0; g < 2; g++) {
    const start = i;
    while (i < value.length && i - start < 4 && isDigit(value.charCodeAt(i))) i++;
    if (i === start || i - start > 3) return null;
    groups.push(Number(value.slice(start, i)));
    if (g === 0) {
      if (value[i] !== '.') return null;
      i++;
    }
  }
  if (i < value.length && (isDigit(value.charCodeAt(i)) || value[i] === '.')) return null;
  return `${value[0]}.${groups[0]}.${groups[1]}`;
}

function findReport(part: MimePart): MimePart | null {
  if (part.type === 'multipart/report' && REPORT_TYPES.has((part.params['report-type'] ?? '').toLowerCase())) return part;
  for (const child of part.children) {
    const found = findReport(child);
    if (found) return found;
  }
  return null;
}

function parsePart(text: string, depth: number, budget: { parts: number }, what: string): MimePart {
  const { headers, bodyStart } = readHeaderBlock(text, 0, what);
  const rawBody = text.slice(bodyStart);
  const { type, params } = parseContentType(first(headers, 'content-type'));
  const encoding = (first(headers, 'content-transfer-encoding') ?? '7bit').trim().toLowerCase();
  const part: MimePart = { type, params, headers, rawBody, encoding, children: [] };
  if (type.startsWith('multipart/') && params.boundary && depth < DSN_LIMITS.depth) {
    const boundary = params.boundary;
    if (boundary.length > DSN_LIMITS.boundaryChars)
      throw new DsnParseError(`a multipart boundary is longer than ${DSN_LIMITS.boundaryChars} characters (RFC 2046)`);
    for (const child of splitMultipart(decodedBody(part), boundary, budget)) part.children.push(parsePart(child, depth + 1, budget, 'a MIME part'));
  }
  return part;
}

/**
 * The header fields from `start` up to the first empty line, unfolded, by lower-case
 * name; lines that are neither fields nor continuations are skipped. A block that
 * starts with an empty line has no fields. Refuses a line over 998 characters and a
 * block over 64 KB: no real mail system writes either.
 */
function readHeaderBlock(text: string, start: number, what: string): { headers: Headers; bodyStart: number } {
  const fields: Array<{ name: string; parts: string[] }> = [];
  let last: { name: string; parts: string[] } | null = null;
  let pos = start;
  let lines = 0;
  while (pos < text.length) {
    const newline = text.indexOf('\n', pos);
    const next = newline < 0 ? text.length : newline + 1;
    const line = lineContent(text, pos, newline < 0 ? text.length : newline, what);
    pos = next;
    if (line.length === 0) break;
    if (next - start > DSN_LIMITS.headerBlockChars)
      throw new DsnParseError(`${what}: the header fields are longer than ${DSN_LIMITS.headerBlockChars} characters`);
    if (++lines > DSN_LIMITS.headerBlockLines) throw new DsnParseError(`${what}: the header fields have more than ${DSN_LIMITS.headerBlockLines} lines`);
    last = addHeaderLine(fields, last, line);
  }
  return { headers: toHeaders(fields), bodyStart: pos };
}

/**
 * The delivery-status part: groups of fields separated by blank lines (the
 * per-message group, then one per recipient), each group as a header block.
 */
function readFieldGroups(body: string): Headers[] {
  if (body.length > DSN_LIMITS.headerBlockChars) throw new DsnParseError(`the delivery-status part is longer than ${DSN_LIMITS.headerBlockChars} characters`);
  const groups: Headers[] = [];
  let fields: Array<{ name: string; parts: string[] }> = [];
  let last: { name: string; parts: string[] } | null = null;
  let recipients = 0;
  const close = () => {
    if (fields.length === 0) return;
    const headers = toHeaders(fields);
    if (headers.has('final-recipient') && ++recipients > DSN_LIMITS.recipients)
      throw new DsnParseError(`the report names more than ${DSN_LIMITS.recipients} recipients`);
    // One per-message group and one per recipient; blank lines in a row make no group.
    if (groups.length > DSN_LIMITS.recipients) throw new DsnParseError(`the delivery-status part has more than ${DSN_LIMITS.recipients + 1} groups of fields`);
    groups.push(headers);
    fields = [];
    last = null;
  };
  let pos = 0;
  let lines = 0;
  while (pos < body.length) {
    if (++lines > DSN_LIMITS.statusPartLines) throw new DsnParseError(`the delivery-status part has more than ${DSN_LIMITS.statusPartLines} lines`);
    const newline = body.indexOf('\n', pos);
    const line = lineContent(body, pos, newline < 0 ? body.length : newline, 'the delivery-status part');
    pos = newline < 0 ? body.length : newline + 1;
    if (isBlank(line, 0, line.length)) close();
    else last = addHeaderLine(fields, last, line);
  }
  close();
  return groups;
}

/** The line from `start` to its line break at `end`, without a CR before it; refuses one over 998 characters. */
function lineContent(text: string, start: number, end: number, what: string): string {
  const contentEnd = end > start && text.charCodeAt(end - 1) === CR ? end - 1 : end;
  if (contentEnd - start > DSN_LIMITS.headerLineChars)
    throw new DsnParseError(`${what}: a header line is longer than ${DSN_LIMITS.headerLineChars} characters (RFC 5322)`);
  return text.slice(start, contentEnd);
}

function addHeaderLine(
  fields: Array<{ name: string; parts: string[] }>,
  last: { name: string; parts: string[] } | null,
  line: string,
): { name: string; parts: string[] } | null {
  const c = line.charCodeAt(0);
  if (c === SPACE || c === TAB) {
    last?.parts.push(line.trim());
    return last;
  }
  const colon = line.indexOf(':');
  if (colon <= 0) return null;
  // The name, then optional blanks before the colon (obsolete syntax some systems still write).
  let nameEnd = colon;
  while (nameEnd > 0 && (line.charCodeAt(nameEnd - 1) === SPACE || line.charCodeAt(nameEnd - 1) === TAB)) nameEnd--;
  if (nameEnd === 0) return null;
  for (let i = 0; i < nameEnd; i++) {
    const code = line.charCodeAt(i);
    if (code < 33 || code > 126) return null;
  }
  const field = { name: line.slice(0, nameEnd).toLowerCase(), parts: [line.slice(colon + 1)] };
  fields.push(field);
  return field;
}

function toHeaders(fields: Array<{ name: string; parts: string[] }>): Headers {
  const headers: Headers = new Map();
  for (const f of fields) {
    const value = f.parts.join(' ').trim();
    const values = headers.get(f.name);
    if (values) values.push(value);
    else headers.set(f.name, [value]);
  }
  return headers;
}

/** "multipart/report; report-type=delivery-status; boundary="x"" → type and lower-cased parameter names. */
function parseContentType(value: string | undefined): { type: string; params: Record<string, string> } {
  if (!value) return { type: 'text/plain', params: {} };
  const semicolon = value.indexOf(';');
  const type = (semicolon < 0 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  const params: Record<string, string> = {};
  let i = semicolon < 0 ? value.length : semicolon;
  // Each character is looked at once: a parameter is `name = token` or `name = "quoted"`, between semicolons.
  while (i < value.length) {
    i++; // past the ';'
    while (i < value.length && isSpace(value.charCodeAt(i))) i++;
    const nameStart = i;
    while (i < value.length && value[i] !== '=' && value[i] !== ';' && !isSpace(value.charCodeAt(i))) i++;
    const name = value.slice(nameStart, i).toLowerCase();
    while (i < value.length && isSpace(value.charCodeAt(i))) i++;
    if (value[i] !== '=' || name.length === 0) {
      i = skipTo(value, i, ';');
      continue;
    }
    i++;
    while (i < value.length && isSpace(value.charCodeAt(i))) i++;
    let parameter: string;
    if (value[i] === '"') {
      i++;
      const chars: string[] = [];
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\' && i + 1 < value.length) i++;
        chars.push(value[i]!);
        i++;
      }
      i++; // past the closing quote (or the end)
      parameter = chars.join('');
    } else {
      const start = i;
      while (i < value.length && value[i] !== ';' && !isSpace(value.charCodeAt(i))) i++;
      parameter = value.slice(start, i);
    }
    if (!(name in params)) params[name] = parameter;
    i = skipTo(value, i, ';');
  }
  return { type: type.includes('/') ? type : 'text/plain', params };
}

function skipTo(value: string, from: number, char: string): number {
  const at = value.indexOf(char, from);
  return at < 0 ? value.length : at;
}

function decodedBody(part: MimePart): string {
  const body = part.rawBody;
  if (part.encoding === 'base64') return Buffer.from(body, 'base64').toString('utf8');
  if (part.encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

/** RFC 2045 quoted-printable, in one pass over the bytes; a malformed escape is kept as it is. */
function decodeQuotedPrintable(body: string): string {
  const src = Buffer.from(body, 'utf8');
  const out = Buffer.allocUnsafe(src.length);
  let o = 0;
  for (let i = 0; i < src.length; i++) {
    const b = src[i]!;
    if (b !== 0x3d) {
      out[o++] = b;
      continue;
    }
    // A soft line break: "=" at the end of a line.
    if (src[i + 1] === LF) {
      i += 1;
      continue;
    }
    if (src[i + 1] === CR && src[i + 2] === LF) {
      i += 2;
      continue;
    }
    const high = hexValue(src[i + 1]);
    const low = hexValue(src[i + 2]);
    if (high >= 0 && low >= 0) {
      out[o++] = high * 16 + low;
      i += 2;
    } else {
      out[o++] = b;
    }
  }
  return out.subarray(0, o).toString('utf8');
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

/**
 * The parts between the delimiter lines `--boundary` (a line of its own, perhaps
 * with trailing blanks) up to the closing `--boundary--`. A report cut short (no
 * closing delimiter) still yields the parts it has. Counts parts against the budget
 * as it goes, so a body of a million delimiters stops at the limit.
 */
function splitMultipart(body: string, boundary: string, budget: { parts: number }): string[] {
  const delimiter = `--${boundary}`;
  // Searching for the line break and the delimiter together finds line starts only, and lets
  // the engine's string search skip ahead (a body of 2 MB of dashes is one search, not millions).
  const lineDelimiter = `\n${delimiter}`;
  const parts: string[] = [];
  let partStart = -1;
  let falseDelimiters = 0;
  let at = body.startsWith(delimiter) ? 0 : body.indexOf(lineDelimiter);
  while (at >= 0) {
    // `at` is where the delimiter line starts (0, or the position of its leading line break).
    const delimiterStart = at === 0 && body.startsWith(delimiter) ? 0 : at + 1;
    let p = delimiterStart + delimiter.length;
    const closing = body.startsWith('--', p);
    if (closing) p += 2;
    // Transport padding: blanks up to the end of the line, nothing else.
    let q = p;
    while (q < body.length && (body.charCodeAt(q) === SPACE || body.charCodeAt(q) === TAB || body.charCodeAt(q) === CR)) q++;
    const isDelimiter = q >= body.length || body.charCodeAt(q) === LF;
    if (!isDelimiter && ++falseDelimiters > DSN_LIMITS.falseDelimiters) {
      throw new DsnParseError(`a multipart body has more than ${DSN_LIMITS.falseDelimiters} lines that start like its boundary`);
    }
    if (isDelimiter) {
      if (partStart >= 0) {
        // The line break before the delimiter belongs to the delimiter.
        let end = delimiterStart === 0 ? 0 : delimiterStart - 1;
        if (end > partStart && body.charCodeAt(end - 1) === CR) end--;
        if (++budget.parts > DSN_LIMITS.parts) throw new DsnParseError(`the message has more than ${DSN_LIMITS.parts} MIME parts`);
        parts.push(body.slice(partStart, Math.max(end, partStart)));
      }
      if (closing) return parts;
      partStart = q < body.length ? q + 1 : body.length;
    }
    at = body.indexOf(lineDelimiter, Math.max(q, delimiterStart));
  }
  if (partStart >= 0) {
    if (++budget.parts > DSN_LIMITS.parts) throw new DsnParseError(`the message has more than ${DSN_LIMITS.parts} MIME parts`);
    parts.push(body.slice(partStart));
  }
  return parts;
}

const first = (headers: Headers, name: string): string | undefined => headers.get(name)?.[0];

/** "rfc822; Name@Example.jp" → "Name@Example.jp" (utf-8 addresses of RFC 6533 decoded). */
function typedAddress(value: string): string | null {
  const semicolon = value.indexOf(';');
  const type = semicolon < 0 ? 'rfc822' : value.slice(0, semicolon).trim().toLowerCase();
  let address = (semicolon < 0 ? value : value.slice(semicolon + 1)).trim();
  if (address.startsWith('<') && address.endsWith('>')) address = address.slice(1, -1).trim();
  address = type === 'utf-8' ? decodeUtf8AddrEscapes(address) : decodeXtext(address);
  return isPlainAddress(address) ? address : null;
}

/** One "@" with something on each side and no whitespace anywhere. */
function isPlainAddress(value: string): boolean {
  const at = value.indexOf('@');
  if (at <= 0 || at === value.length - 1 || value.indexOf('@', at + 1) >= 0) return false;
  for (let i = 0; i < value.length; i++) if (isSpace(value.charCodeAt(i))) return false;
  return true;
}

/** RFC 6533 utf-8-addr-xtext: "\x{3042}" → "あ"; an escape that names no code point stays as written. */
function decodeUtf8AddrEscapes(value: string): string {
  return value.replace(/\\x\{([0-9A-Fa-f]{1,6})\}/g, (escape, hex: string) => {
    const code = parseInt(hex, 16);
    return code <= 0x10ffff ? String.fromCodePoint(code) : escape;
  });
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

/** A character that may not appear inside a Message-ID: "<", ">" or whitespace. */
function endsMessageId(code: number): boolean {
  return code === 60 || code === 62 || isSpace(code);
}

/**
 * The first `<left@right>` in a field value (neither side empty, no "<", ">" or
 * whitespace inside), else the whole value if it is a bare `left@right`. One pass.
 */
function messageIdIn(value: string): string | null {
  let open = value.indexOf('<');
  while (open >= 0) {
    let i = open + 1;
    while (i < value.length && !endsMessageId(value.charCodeAt(i))) i++;
    if (i < value.length && value[i] === '>' && hasInnerAt(value, open + 1, i)) return value.slice(open, i + 1);
    open = value.indexOf('<', i);
  }
  const bare = value.trim();
  for (let i = 0; i < bare.length; i++) if (endsMessageId(bare.charCodeAt(i))) return null;
  return hasInnerAt(bare, 0, bare.length) ? `<${bare}>` : null;
}

/** An "@" with at least one character before and after it, within [start, end). */
function hasInnerAt(value: string, start: number, end: number): boolean {
  // A loop bounded by `end`, not indexOf: searching past it would make many short candidates quadratic.
  for (let i = start + 1; i < end - 1; i++) if (value.charCodeAt(i) === 64) return true;
  return false;
}

function isDeliveryToken(value: string): boolean {
  if (value.length !== DELIVERY_TOKEN_LENGTH) return false;
  for (let i = 0; i < value.length; i++) if (hexValue(value.charCodeAt(i)) < 0) return false;
  return true;
}

/** Tokens in VERP addresses of a field value: every "+<32 hex digits>@" (lower-cased). */
function verpTokensIn(value: string): string[] {
  const tokens: string[] = [];
  let plus = value.indexOf('+');
  while (plus >= 0) {
    const end = plus + 1 + DELIVERY_TOKEN_LENGTH;
    if (value[end] === '@') {
      const candidate = value.slice(plus + 1, end).toLowerCase();
      if (isDeliveryToken(candidate)) tokens.push(candidate);
    }
    plus = value.indexOf('+', plus + 1);
  }
  return tokens;
}

function isSpace(code: number): boolean {
  return code === SPACE || code === TAB || code === LF || code === CR || code === 11 || code === 12;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isBlank(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}

/** A value quoted in an error: at most `max` characters, control characters as "?", so the message stays one short line. */
function shown(value: string, max: number): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  let out = '';
  for (let i = 0; i < cut.length; i++) {
    const code = cut.charCodeAt(i);
    out += code < 32 || code === 127 ? '?' : cut[i];
  }
  return out;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
