// Residents' response links: the one home for how they are made, stored and checked.
//
// A link carries an opaque random token (256 bits, base64url); a letter carries a
// shorter code a resident can type: 8 random Crockford base32 symbols (40 bits)
// and a check symbol, printed `4K7-P9M-Q2X` (letters of an earlier version carry
// 10 symbols without a check, `ABCD-EFGH-JK`; both are accepted). The
// database keeps only HMAC-SHA256 of either under a link key that lives outside
// the database (RESPONSE_LINK_KEYS or its file), so whoever reads the table can
// neither use a row nor test guesses offline. Every key of the ring is tried on
// lookup and the first one makes new hashes: rotating the key keeps links issued
// under the previous key working until they expire.
//
// A link is valid while its outreach runs and for a grace period after it ended
// (computed from outreach.ended_at when checked, so no end path has to remember
// it); once the resident has answered through any link of the outreach, every
// link shows that answer and changes nothing.
import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ConfigError } from '../../config/engine-config';
import { RESPONSE_KINDS, type Channel, type Database, type ResponseKind } from '../../store/schema';
import { readOrCreateLocalSecret } from '../../config/secrets';

export interface LinkKey {
  /** Stored beside each hash, so a hash can be traced to the key that made it. */
  id: string;
  key: Buffer;
}

/** The first key makes new tokens; all of them are accepted on lookup. */
export type LinkKeyRing = readonly [LinkKey, ...LinkKey[]];

export type ResponseTokenState = 'valid' | 'expired' | 'answered';

export interface ResolvedResponseToken {
  outreachId: string;
  /** The answer the link stands for (a letter code opens the page, as `acknowledged` does). */
  kind: ResponseKind;
  state: ResponseTokenState;
}

/** The links a notice prints (the `links.*` template variables). */
export interface NoticeLinks {
  open: string;
  apply: string;
  acknowledge: string;
  notForMe: string;
  stop: string;
  /** Letters only: the code to type, `XXX-XXX-XXX`; empty on other channels. */
  code: string;
  /** Email only: the one-click unsubscribe URL of the List-Unsubscribe header (RFC 8058); absent on other channels. */
  unsubscribe?: string;
}

export const DEFAULT_LINK_GRACE_DAYS = 30;

const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Crockford's base32: no I, L, O or U, so what is printed cannot be misread. */
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Random symbols of a letter code (40 bits); the check symbol follows them. */
const CODE_RANDOM_SYMBOLS = 8;
const CODE_PATTERN = /^[0-9A-HJKMNP-TV-Z]{9}$/;
/** The codes of earlier letters: 10 random symbols, no check symbol (still accepted). */
const OLD_CODE_PATTERN = /^[0-9A-HJKMNP-TV-Z]{10}$/;
/** What a typed code may be: the wrong length or a letter outside the alphabet is refused before the check. */
const TYPED_MAX = 40;
/** The signed links of the earlier format (body.signature), carried over on upgrade. */
const LEGACY_PATTERN = /^[A-Za-z0-9_-]{1,400}\.[A-Za-z0-9_-]{43}$/;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const MIN_KEY_BYTES = 32;

type TokenForm = 'link' | 'code' | 'legacy';

/**
 * Parses `RESPONSE_LINK_KEYS`: `id:base64url-key` pairs separated by commas or
 * white space, newest first. Each key must decode to at least 32 bytes.
 */
export function parseLinkKeys(value: string, name = 'RESPONSE_LINK_KEYS'): LinkKeyRing {
  const entries = value.split(/[\s,]+/).filter((e) => e !== '');
  const keys: LinkKey[] = [];
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    const encoded = colon > 0 ? entry.slice(colon + 1).replace(/=+$/, '') : '';
    if (!KEY_ID_PATTERN.test(id)) throw new ConfigError(`${name}: entry ${index + 1} must be id:key with an id of 1-32 letters, digits, - or _`);
    if (keys.some((k) => k.id === id)) throw new ConfigError(`${name}: key id ${id} appears twice`);
    if (!/^[A-Za-z0-9_-]+$/.test(encoded)) throw new ConfigError(`${name}: key ${id} must be base64url (A-Z a-z 0-9 - _)`);
    const key = Buffer.from(encoded, 'base64url');
    if (key.length < MIN_KEY_BYTES) throw new ConfigError(`${name}: key ${id} must be at least ${MIN_KEY_BYTES} bytes, got ${key.length}`);
    keys.push({ id, key });
  }
  const [first, ...rest] = keys;
  if (!first) throw new ConfigError(`${name}: no key (expected id:base64url-key, newest first)`);
  return [first, ...rest];
}

/** A new key ring value with one fresh key, in the form parseLinkKeys reads. */
export function newLinkKeys(id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`): string {
  return `${id}:${randomBytes(32).toString('base64url')}`;
}

/** Unsubscribe tokens are hashed under their own form, so a response link can never unsubscribe anyone, nor the reverse. */
type HashForm = TokenForm | 'unsubscribe';

function hashUnder(key: LinkKey, form: HashForm, value: string): string {
  // The form is part of the hashed text, so a code can never be taken for a link or back.
  return createHmac('sha256', key.key).update(`${form}:${value}`).digest('base64url');
}

export function newResponseToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** GF(32) with x^5 + x^2 + 1: multiplying by x (the generator). */
function timesX(v: number): number {
  const shifted = v << 1;
  return shifted & 32 ? (shifted ^ 0b100101) & 31 : shifted;
}

/**
 * The check symbol of a code's random symbols: their weighted sum in GF(32),
 * symbol i weighted x^(i+1). It is one of the same 32 letters and digits (a
 * resident never has to type Crockford's mod-37 extras * ~ $ =), and it
 * catches every single wrong symbol and every two swapped symbols: a changed
 * symbol adds e·x^(i+1) ≠ 0, a swap (a+b)(x^(i+1)+x^(j+1)) ≠ 0 since x has
 * order 31 and a code is shorter than that.
 */
function checkSymbol(symbols: string): string {
  let sum = 0;
  let weight = 1;
  for (const symbol of symbols) {
    weight = timesX(weight);
    let term = 0;
    // term = value · weight in GF(32), by shift and add.
    let a = CODE_ALPHABET.indexOf(symbol);
    let b = weight;
    while (a > 0) {
      if (a & 1) term ^= b;
      a >>= 1;
      b = timesX(b);
    }
    sum ^= term;
  }
  return CODE_ALPHABET[sum]!;
}

/** A new letter code, canonical (9 symbols: 8 random and the check symbol), unformatted. */
export function newLetterCode(): string {
  // 32 symbols: 5 bits of each random byte, so every symbol is equally likely.
  const bytes = randomBytes(CODE_RANDOM_SYMBOLS);
  let code = '';
  for (const byte of bytes) code += CODE_ALPHABET[byte & 31];
  return code + checkSymbol(code);
}

/** `4K7P9MQ2X` → `4K7-P9M-Q2X`, as printed; a code of the earlier form `ABCDEFGHJK` → `ABCD-EFGH-JK`. */
export function formatLetterCode(code: string): string {
  if (code.length === 10) return `${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`;
  return `${code.slice(0, 3)}-${code.slice(3, 6)}-${code.slice(6)}`;
}

/** What a typed letter code is: a code to look up (of the current or the earlier form), or why it is refused before any lookup. */
export type TypedLetterCode = { ok: true; code: string; form: 'current' | 'earlier' } | { ok: false; problem: 'shape' | 'check' };

/**
 * Reads a code as a resident may type it — lower case, full-width characters,
 * spaces, hyphens, O for 0 and I or L for 1. A 9-symbol code whose check
 * symbol does not match (one symbol mistyped, two swapped) is refused here,
 * before any lookup; a 10-symbol code is one of an earlier letter (no check).
 */
export function readLetterCode(typed: string): TypedLetterCode {
  if (typed.length > TYPED_MAX) return { ok: false, problem: 'shape' };
  const plain = typed
    .normalize('NFKC')
    .replace(/[\s\-‐‑‒–—―ー−]/g, '')
    .toUpperCase()
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  if (OLD_CODE_PATTERN.test(plain)) return { ok: true, code: plain, form: 'earlier' };
  if (!CODE_PATTERN.test(plain)) return { ok: false, problem: 'shape' };
  if (checkSymbol(plain.slice(0, CODE_RANDOM_SYMBOLS)) !== plain[CODE_RANDOM_SYMBOLS]) return { ok: false, problem: 'check' };
  return { ok: true, code: plain, form: 'current' };
}

/** A typed code in its canonical form, or null when it cannot be one (wrong shape or check symbol). */
export function normalizeLetterCode(typed: string): string | null {
  const read = readLetterCode(typed);
  return read.ok ? read.code : null;
}

/** The answer page of a letter code: what its QR code holds (`<PUBLIC_BASE_URL>/r/<code>`). */
export function letterAnswerUrl(baseUrl: string, code: string): string {
  return `${baseUrl}/r/${code}`;
}

/**
 * The answer address printed on a letter for typing: the answer page's URL
 * without `https://` (browsers add it), so `oshirase.city.example.jp/r/4K7-P9M-Q2X`.
 * A plain-http base (a local installation) keeps its scheme, which a browser would not guess.
 */
export function letterAnswerAddress(baseUrl: string, code: string): string {
  return letterAnswerUrl(baseUrl, code).replace(/^https:\/\//i, '');
}

/** The longest a URL printed on a letter may be: a resident types it from paper. */
export const LETTER_ADDRESS_MAX = 40;

/**
 * Why PUBLIC_BASE_URL makes the address printed on letters too long to type
 * (over 40 characters with a code), or null. Checked at start and by `rules validate`.
 */
export function letterAddressProblem(baseUrl: string): string | null {
  const code = formatLetterCode('0'.repeat(CODE_RANDOM_SYMBOLS + 1));
  const address = letterAnswerAddress(baseUrl, code);
  if (address.length <= LETTER_ADDRESS_MAX) return null;
  const printedBase = letterAnswerAddress(baseUrl, '').slice(0, -'/r/'.length);
  const room = LETTER_ADDRESS_MAX - '/r/'.length - code.length;
  return (
    `PUBLIC_BASE_URL: letters would print the answer address ${printedBase}/r/${'X'.repeat(3)}-${'X'.repeat(3)}-${'X'.repeat(3)} ` +
    `(${address.length} characters), longer than the ${LETTER_ADDRESS_MAX} a resident can be expected to type from paper: ` +
    `give the public service an address of at most ${room} characters without https:// (now ${printedBase.length}: ${printedBase})`
  );
}

/** What a presented value can be, from its shape alone; null when it cannot be any (no query is made). */
function classify(presented: string): { form: TokenForm; value: string } | null {
  if (TOKEN_PATTERN.test(presented)) return { form: 'link', value: presented };
  if (LEGACY_PATTERN.test(presented)) return { form: 'legacy', value: presented };
  const code = readLetterCode(presented);
  return code.ok ? { form: 'code', value: code.code } : null;
}

async function storeHash(db: Kysely<Database>, keys: LinkKeyRing, outreachId: string, kind: ResponseKind, form: TokenForm, value: string): Promise<boolean> {
  const [key] = keys;
  const inserted = await db
    .insertInto('response_tokens')
    .values({ token_hash: hashUnder(key, form, value), key_id: key.id, outreach_id: outreachId, kind, form })
    .onConflict((oc) => oc.column('token_hash').doNothing())
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/**
 * New tokens for every answer of an outreach. Each call makes new ones (only
 * hashes are kept, so an earlier token cannot be given out again); the earlier
 * ones stay valid, so a retried send or a reminder never breaks a link already
 * delivered.
 */
export async function issueResponseTokens(db: Kysely<Database>, keys: LinkKeyRing, outreachId: string): Promise<Record<ResponseKind, string>> {
  const tokens = Object.fromEntries(RESPONSE_KINDS.map((kind) => [kind, newResponseToken()])) as Record<ResponseKind, string>;
  const [key] = keys;
  await db
    .insertInto('response_tokens')
    .values(
      RESPONSE_KINDS.map((kind) => ({
        token_hash: hashUnder(key, 'link', tokens[kind]),
        key_id: key.id,
        outreach_id: outreachId,
        kind,
        form: 'link' as const,
      })),
    )
    .execute();
  return tokens;
}

/** A new code for a letter of the outreach (canonical form, unformatted). */
export async function issueLetterCode(db: Kysely<Database>, keys: LinkKeyRing, outreachId: string): Promise<string> {
  // 40 bits: a collision with a code in use is rare but possible, so a taken one is drawn again.
  for (let attempt = 0; attempt < 5; attempt++) {
    const code = newLetterCode();
    if (await storeHash(db, keys, outreachId, 'acknowledged', 'code', code)) return code;
  }
  throw new Error('could not draw an unused letter code in 5 attempts');
}

export interface ResolveOptions {
  /** Days after the outreach ended that its links still open (RESPONSE_LINK_GRACE_DAYS). */
  graceDays?: number;
  now?: Date;
}

function hashesUnderRing(keys: LinkKeyRing, form: HashForm, value: string): string[] {
  return keys.map((key) => hashUnder(key, form, value));
}

/**
 * What a presented token or typed letter code stands for, or null when it is
 * unknown, forged, malformed or made under a key no longer in the ring
 * (malformed input is refused from its shape, before any query).
 */
export async function resolveResponseToken(
  db: Kysely<Database>,
  keys: LinkKeyRing,
  token: string,
  options: ResolveOptions = {},
): Promise<ResolvedResponseToken | null> {
  const presented = classify(token);
  if (!presented) return null;
  const row = await db
    .selectFrom('response_tokens as t')
    .innerJoin('outreach as o', 'o.id', 't.outreach_id')
    .select((eb) => [
      't.outreach_id',
      't.kind',
      'o.ended_at',
      'o.response',
      eb
        .exists(eb.selectFrom('response_tokens as u').select('u.token_hash').whereRef('u.outreach_id', '=', 't.outreach_id').where('u.used_at', 'is not', null))
        .as('used'),
    ])
    .where('t.token_hash', 'in', hashesUnderRing(keys, presented.form, presented.value))
    .executeTakeFirst();
  if (!row) return null;
  const graceDays = options.graceDays ?? DEFAULT_LINK_GRACE_DAYS;
  const now = options.now ?? new Date();
  // Past the grace, a link shows nothing of the outreach, not even its answer.
  if (row.ended_at && row.ended_at.getTime() + graceDays * 86_400_000 < now.getTime()) {
    return { outreachId: row.outreach_id, kind: row.kind, state: 'expired' };
  }
  const answered = row.response !== null || Boolean(row.used);
  return { outreachId: row.outreach_id, kind: row.kind, state: answered ? 'answered' : 'valid' };
}

/** Records that the resident answered through this token: from now on every link of the outreach shows 'answered'. */
export async function markResponseTokenUsed(db: Kysely<Database>, keys: LinkKeyRing, token: string, at = new Date()): Promise<void> {
  const presented = classify(token);
  if (!presented) return;
  await db
    .updateTable('response_tokens')
    .set({ used_at: at })
    .where('token_hash', 'in', hashesUnderRing(keys, presented.form, presented.value))
    .where('used_at', 'is', null)
    .execute();
}

// ---------------------------------------------------------------------------------------------------
// One-click unsubscribe (RFC 8058): every notice email carries `List-Unsubscribe: <base/unsubscribe/TOKEN>`.
// The token is random like a response link and stored only as its HMAC (form 'unsubscribe') with the
// resident it stands for; it does not expire with the outreach (mail clients keep offering it), and
// using it again changes nothing more.

/**
 * A new unsubscribe token for the recipient of an outreach's email — its resident, or the proxy it went to
 * (`recipientId`): the one who unsubscribes is the one who got the email. Null when the outreach is unknown.
 */
export async function issueUnsubscribeToken(db: Kysely<Database>, keys: LinkKeyRing, outreachId: string, recipientId?: string): Promise<string | null> {
  const token = newResponseToken();
  const [key] = keys;
  const inserted = await db
    .insertInto('unsubscribe_tokens')
    .columns(['token_hash', 'key_id', 'resident_id', 'outreach_id'])
    .expression((eb) =>
      eb
        .selectFrom('outreach')
        .select((o) => [
          o.val(hashUnder(key, 'unsubscribe', token)).as('token_hash'),
          o.val(key.id).as('key_id'),
          recipientId === undefined ? o.ref('resident_id').as('resident_id') : o.val(recipientId).as('resident_id'),
          'id',
        ])
        .where('id', '=', outreachId),
    )
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1 ? token : null;
}

/** The resident an unsubscribe token stands for, or null when it is unknown, forged or malformed (shape checked before any query). */
export async function resolveUnsubscribeToken(
  db: Kysely<Database>,
  keys: LinkKeyRing,
  token: string,
): Promise<{ residentId: string; outreachId: string; used: boolean } | null> {
  if (!TOKEN_PATTERN.test(token)) return null;
  const row = await db
    .selectFrom('unsubscribe_tokens')
    .select(['resident_id', 'outreach_id', 'used_at'])
    .where('token_hash', 'in', hashesUnderRing(keys, 'unsubscribe', token))
    .executeTakeFirst();
  return row ? { residentId: row.resident_id, outreachId: row.outreach_id, used: row.used_at !== null } : null;
}

export async function markUnsubscribeTokenUsed(db: Kysely<Database>, keys: LinkKeyRing, token: string, at = new Date()): Promise<void> {
  if (!TOKEN_PATTERN.test(token)) return;
  await db
    .updateTable('unsubscribe_tokens')
    .set({ used_at: at })
    .where('token_hash', 'in', hashesUnderRing(keys, 'unsubscribe', token))
    .where('used_at', 'is', null)
    .execute();
}

/**
 * Upgrade from the earlier signed links, whose key was kept in clear in
 * `engine_settings`: the links of outreach still open (or within the grace)
 * are recomputed once and stored as hashes like any other token, so notices
 * already delivered keep working; the caller then deletes the old key.
 */
export async function carryOverLegacyLinks(db: Kysely<Database>, keys: LinkKeyRing, legacySecret: string, graceDays: number): Promise<number> {
  const since = new Date(Date.now() - graceDays * 86_400_000);
  const outreach = await db
    .selectFrom('outreach')
    .select('id')
    .where((eb) => eb.or([eb('ended_at', 'is', null), eb('ended_at', '>=', since)]))
    .execute();
  const [key] = keys;
  let stored = 0;
  for (let i = 0; i < outreach.length; i += 500) {
    const rows = outreach.slice(i, i + 500).flatMap(({ id }) =>
      RESPONSE_KINDS.map((kind) => {
        const body = Buffer.from(JSON.stringify({ o: id, k: kind })).toString('base64url');
        const signature = createHmac('sha256', legacySecret).update(body).digest('base64url');
        return { token_hash: hashUnder(key, 'legacy', `${body}.${signature}`), key_id: key.id, outreach_id: id, kind, form: 'legacy' as const };
      }),
    );
    if (rows.length === 0) continue;
    await db
      .insertInto('response_tokens')
      .values(rows)
      .onConflict((oc) => oc.column('token_hash').doNothing())
      .execute();
    stored += rows.length;
  }
  return stored;
}

const KEY_CHECKS_SETTING = 'response-link-key-checks';
const LEGACY_SECRET_SETTING = 'response-link-secret';

/** A value that tells keys apart without revealing them (an HMAC of a fixed text under the key). */
function keyCheckValue(key: LinkKey): string {
  return createHmac('sha256', key.key).update('oshirase response-link key check').digest('base64url');
}

/**
 * The link key ring: from RESPONSE_LINK_KEYS or RESPONSE_LINK_KEYS_FILE, or —
 * where neither is set — one key generated into `$OSHIRASE_DATA_DIR/secrets/`.
 * Each key's check value is kept in `engine_settings`, so a process whose key
 * of the same id differs (a typo, an id reused for a new key) is refused at
 * start rather than issuing links the others cannot read. The
 * key of the earlier signed links, kept there in clear, is used one last time
 * to carry those links over, then deleted.
 */
export async function loadLinkKeys(
  db: Kysely<Database>,
  env: NodeJS.ProcessEnv,
  options: { dataDir: string; graceDays: number; warn?: (message: string) => void },
): Promise<LinkKeyRing> {
  const value = readOrCreateLocalSecret(env, 'RESPONSE_LINK_KEYS', {
    dataDir: options.dataDir,
    ...(options.warn ? { warn: options.warn } : {}),
    // A random id: installations that share a database but not a data folder (the test suite) never claim the same id.
    generate: () => newLinkKeys(`local-${randomBytes(4).toString('hex')}`),
  });
  const ring = parseLinkKeys(value);
  await db
    .insertInto('engine_settings')
    .values({ key: KEY_CHECKS_SETTING, value: JSON.stringify({}) })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const stored = await db.selectFrom('engine_settings').select('value').where('key', '=', KEY_CHECKS_SETTING).executeTakeFirstOrThrow();
  const checks = { ...(stored.value as Record<string, string>) };
  let added = false;
  for (const key of ring) {
    const check = keyCheckValue(key);
    if (checks[key.id] === undefined) {
      checks[key.id] = check;
      added = true;
    } else if (checks[key.id] !== check) {
      throw new ConfigError(
        `RESPONSE_LINK_KEYS: key ${key.id} is not the key ${key.id} this installation's links were made with; give every process the same keys`,
      );
    }
  }
  if (added)
    await db
      .updateTable('engine_settings')
      .set({ value: JSON.stringify(checks) })
      .where('key', '=', KEY_CHECKS_SETTING)
      .execute();

  const legacy = await db.selectFrom('engine_settings').select('value').where('key', '=', LEGACY_SECRET_SETTING).executeTakeFirst();
  if (legacy && typeof legacy.value === 'string') {
    await carryOverLegacyLinks(db, ring, legacy.value, options.graceDays);
  }
  if (legacy) await db.deleteFrom('engine_settings').where('key', '=', LEGACY_SECRET_SETTING).execute();
  return ring;
}

/** The engine's links: its key ring, its public address and the grace after an outreach ends. */
export class ResponseLinks {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly keys: LinkKeyRing,
    private readonly baseUrl: string,
    readonly graceDays: number = DEFAULT_LINK_GRACE_DAYS,
  ) {}

  /**
   * Issues what one notice prints: for email and push a token per answer (and, on email, the unsubscribe
   * link of its recipient — `recipientId` for a proxy's copy);
   * for a letter one short code, printed as `<base>/r/<code>` for every link
   * (the page it opens offers every answer) and as the code itself.
   */
  async forNotice(outreachId: string, channel: Channel, recipientId?: string): Promise<NoticeLinks> {
    if (channel === 'letter') return this.letterLinks(formatLetterCode(await issueLetterCode(this.db, this.keys, outreachId)));
    const links = this.tokenLinks(await issueResponseTokens(this.db, this.keys, outreachId));
    if (channel !== 'email') return links;
    const unsubscribe = await issueUnsubscribeToken(this.db, this.keys, outreachId, recipientId);
    return unsubscribe ? { ...links, unsubscribe: this.unsubscribeUrl(unsubscribe) } : links;
  }

  resolveUnsubscribe(token: string): Promise<{ residentId: string; outreachId: string; used: boolean } | null> {
    return resolveUnsubscribeToken(this.db, this.keys, token);
  }

  markUnsubscribeUsed(token: string): Promise<void> {
    return markUnsubscribeTokenUsed(this.db, this.keys, token);
  }

  unsubscribeUrl(token: string): string {
    return `${this.baseUrl}/unsubscribe/${token}`;
  }

  /** Links of the same shape that are stored nowhere, so they answer nothing (`templates preview`). */
  preview(channel: Channel): NoticeLinks {
    if (channel === 'letter') return this.letterLinks(formatLetterCode(newLetterCode()));
    const links = this.tokenLinks(Object.fromEntries(RESPONSE_KINDS.map((kind) => [kind, newResponseToken()])) as Record<ResponseKind, string>);
    return channel === 'email' ? { ...links, unsubscribe: this.unsubscribeUrl(newResponseToken()) } : links;
  }

  /** One new token per answer for the outreach (raw, unformatted); forNotice builds the links from these. */
  issueTokens(outreachId: string): Promise<Record<ResponseKind, string>> {
    return issueResponseTokens(this.db, this.keys, outreachId);
  }

  resolve(token: string, now?: Date): Promise<ResolvedResponseToken | null> {
    return resolveResponseToken(this.db, this.keys, token, { graceDays: this.graceDays, ...(now ? { now } : {}) });
  }

  markUsed(token: string): Promise<void> {
    return markResponseTokenUsed(this.db, this.keys, token);
  }

  async issueLetterCode(outreachId: string): Promise<{ code: string; url: string }> {
    const code = formatLetterCode(await issueLetterCode(this.db, this.keys, outreachId));
    return { code, url: this.codeUrl(code) };
  }

  /** Why PUBLIC_BASE_URL makes the address printed on letters too long to type, or null. */
  letterAddressProblem(): string | null {
    return letterAddressProblem(this.baseUrl);
  }

  url(token: string): string {
    return `${this.baseUrl}/respond/${token}`;
  }

  codeUrl(code: string): string {
    return letterAnswerUrl(this.baseUrl, code);
  }

  private tokenLinks(tokens: Record<ResponseKind, string>): NoticeLinks {
    return tokenNoticeLinks(this.baseUrl, tokens);
  }

  private letterLinks(code: string): NoticeLinks {
    return letterNoticeLinks(this.baseUrl, code);
  }
}

/** The links of an email or push notice, from one token per answer; `open` is the acknowledging one's page. */
export function tokenNoticeLinks(baseUrl: string, tokens: Record<ResponseKind, string>): NoticeLinks {
  const url = (token: string) => `${baseUrl}/respond/${token}`;
  return {
    open: url(tokens.acknowledged),
    apply: url(tokens.applied),
    acknowledge: url(tokens.acknowledged),
    notForMe: url(tokens['not-for-me']),
    stop: url(tokens.stop),
    code: '',
  };
}

/**
 * The links of a letter, from its formatted code: every one is the short
 * address printed for typing (the page it opens offers every answer; the
 * QR code beside it holds letterAnswerUrl).
 */
export function letterNoticeLinks(baseUrl: string, code: string): NoticeLinks {
  const printed = letterAnswerAddress(baseUrl, code);
  return { open: printed, apply: printed, acknowledge: printed, notForMe: printed, stop: printed, code };
}

/** What a letter prints to be answered: the code, the address to type and the URL of its QR code. */
export interface LetterAnswer {
  code: string;
  address: string;
  url: string;
}

/** The answer block of a letter whose (formatted) code is `code`. */
export function letterAnswer(baseUrl: string, code: string): LetterAnswer {
  return { code, address: letterAnswerAddress(baseUrl, code), url: letterAnswerUrl(baseUrl, code) };
}
