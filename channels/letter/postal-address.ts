/**
 * Checks a resident's postal address before a letter is printed for it. A
 * letter to an address the post office cannot deliver costs postage, comes back
 * weeks later as 宛所不明, and meanwhile the resident has heard nothing — so a
 * doubtful address goes to a caseworker instead of the print run.
 */

export interface PostalAddressInput {
  postalCode: string | null | undefined;
  address: string | null | undefined;
}

export interface PostalAddressProblem {
  field: 'postalCode' | 'address';
  problem: string;
}

export interface PostalAddressOptions {
  /** The city's own names (e.g. おしらせ市, Oshirase City): an address in the city may omit the prefecture. */
  cityNames: readonly string[];
}

export const ADDRESS_MIN_LENGTH = 5;
/**
 * Longer addresses cannot be set legibly in the envelope window: the recipient
 * block shrinks them, and past about four lines the type gets too small to read.
 */
export const ADDRESS_MAX_LENGTH = 80;

export const PREFECTURES_JA = [
  '北海道',
  '青森県',
  '岩手県',
  '宮城県',
  '秋田県',
  '山形県',
  '福島県',
  '茨城県',
  '栃木県',
  '群馬県',
  '埼玉県',
  '千葉県',
  '東京都',
  '神奈川県',
  '新潟県',
  '富山県',
  '石川県',
  '福井県',
  '山梨県',
  '長野県',
  '岐阜県',
  '静岡県',
  '愛知県',
  '三重県',
  '滋賀県',
  '京都府',
  '大阪府',
  '兵庫県',
  '奈良県',
  '和歌山県',
  '鳥取県',
  '島根県',
  '岡山県',
  '広島県',
  '山口県',
  '徳島県',
  '香川県',
  '愛媛県',
  '高知県',
  '福岡県',
  '佐賀県',
  '長崎県',
  '熊本県',
  '大分県',
  '宮崎県',
  '鹿児島県',
  '沖縄県',
] as const;

// Romanised names, for addresses written in Latin script (residents whose register entry is in English).
const PREFECTURES_LATIN = [
  'hokkaido',
  'aomori',
  'iwate',
  'miyagi',
  'akita',
  'yamagata',
  'fukushima',
  'ibaraki',
  'tochigi',
  'gunma',
  'saitama',
  'chiba',
  'tokyo',
  'kanagawa',
  'niigata',
  'toyama',
  'ishikawa',
  'fukui',
  'yamanashi',
  'nagano',
  'gifu',
  'shizuoka',
  'aichi',
  'mie',
  'shiga',
  'kyoto',
  'osaka',
  'hyogo',
  'nara',
  'wakayama',
  'tottori',
  'shimane',
  'okayama',
  'hiroshima',
  'yamaguchi',
  'tokushima',
  'kagawa',
  'ehime',
  'kochi',
  'fukuoka',
  'saga',
  'nagasaki',
  'kumamoto',
  'oita',
  'miyazaki',
  'kagoshima',
  'okinawa',
] as const;
const LATIN_PREFECTURE = new RegExp(`\\b(?:${PREFECTURES_LATIN.join('|')})(?:[- ]?(?:to|fu|ken|do|prefecture))?\\b`, 'i');

// Control characters break the printer's data stream; format characters (bidi overrides,
// zero-width joiners) make the printed text differ from what a caseworker sees on screen.
const INVISIBLE = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
// U+FFFD is what a wrong character-set conversion leaves behind (文字化け).
const REPLACEMENT = /\uFFFD/;
// A block number: digits, or a kanji numeral followed by 丁目/番(地)/号 (一丁目2番3号, 三番地).
const BLOCK_NUMBER = /[0-9]|[一二三四五六七八九十百千〇]+(?:丁目|番地?|号)/;
const POSTAL_CODE = /^〒?\s*([0-9]{3})-?([0-9]{4})$/;

/**
 * '〒100-0005', '100-0005', '1000005' and their full-width forms → '100-0005';
 * null when it is not a Japanese postal code.
 */
export function normalizePostalCode(postalCode: string): string | null {
  const m = POSTAL_CODE.exec(
    postalCode
      .normalize('NFKC')
      .replace(/[‐‑–—−ー]/g, '-')
      .trim(),
  );
  if (!m || `${m[1]}${m[2]}` === '0000000') return null;
  return `${m[1]}-${m[2]}`;
}

function foldLatin(text: string): string {
  // Tōkyō → Tokyo: drop the macrons after splitting letters from their accents.
  return text.normalize('NFKD').replace(/\p{M}/gu, '');
}

/** Every reason this address cannot go on an envelope; empty when it can. */
export function postalAddressProblems(input: PostalAddressInput, options: PostalAddressOptions): PostalAddressProblem[] {
  const problems: PostalAddressProblem[] = [];
  const postalCode = input.postalCode ?? '';
  if (postalCode.trim() === '') {
    problems.push({ field: 'postalCode', problem: 'no postal code' });
  } else if (INVISIBLE.test(postalCode)) {
    problems.push({ field: 'postalCode', problem: 'contains control or invisible characters' });
  } else if (normalizePostalCode(postalCode) === null) {
    problems.push({ field: 'postalCode', problem: `"${postalCode}" is not a postal code of the form 〒NNN-NNNN` });
  }

  const raw = input.address ?? '';
  const address = raw.normalize('NFKC').trim();
  if (address === '') {
    problems.push({ field: 'address', problem: 'no address' });
    return problems;
  }
  if (INVISIBLE.test(raw)) problems.push({ field: 'address', problem: 'contains control or invisible characters (line breaks, tabs, direction marks)' });
  if (REPLACEMENT.test(raw)) problems.push({ field: 'address', problem: 'contains U+FFFD: the text was garbled by a character-set conversion' });
  const length = [...address].length;
  if (length < ADDRESS_MIN_LENGTH) problems.push({ field: 'address', problem: `too short (${length} characters) to be a full address` });
  if (length > ADDRESS_MAX_LENGTH)
    problems.push({ field: 'address', problem: `too long (${length} characters; at most ${ADDRESS_MAX_LENGTH} fit the envelope window)` });

  const namesCity = options.cityNames.some((name) => name.trim() !== '' && address.toLowerCase().includes(name.normalize('NFKC').toLowerCase()));
  const namesPrefecture = PREFECTURES_JA.some((p) => address.includes(p)) || LATIN_PREFECTURE.test(foldLatin(address));
  if (!namesCity && !namesPrefecture) {
    problems.push({ field: 'address', problem: `names neither a prefecture nor the city (${options.cityNames.join(' / ')})` });
  }
  if (!BLOCK_NUMBER.test(address)) problems.push({ field: 'address', problem: 'has no block number (番地・号)' });
  return problems;
}

/** One line for the audit log, a task or an error message. */
export function describePostalProblems(problems: readonly PostalAddressProblem[]): string {
  return problems.map((p) => `${p.field === 'postalCode' ? 'postal code' : 'address'}: ${p.problem}`).join('; ');
}
