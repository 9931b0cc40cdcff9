/**
 * A deterministic synthetic population of おしらせ市 for benchmarks and
 * simulations: households first, then their members, with attributes that
 * hang together (children born to their parents, insurance by age and work,
 * household income, consent and channels by age). The same seed and reference
 * date always give the same rows; the id prefix only renames them.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database, Locale, ResidentsTable } from '../../store/schema';
import { deleteCaseworkerTasksOfOutreach } from '../../store/caseworker-tasks';
import { deleteDeliveriesOfOutreach } from '../../store/delivery-ledger';
import { INSURANCE_TYPES, PURPOSE_IDS, WARDS, type Purpose } from '../../engine/rule-language/attribute-catalog';
import { ageOnDate, isIsoDate, todayInTokyo } from '../../foundation/tokyo-calendar';

export interface PopulationOptions {
  residents: number;
  seed: number;
  /** Namespaces every id this run creates: residents `<prefix>0000001`, households `<prefix>HH000001`. Default 'P'. */
  idPrefix?: string;
  /** Residents per INSERT statement. */
  batchSize?: number;
  /** Ages, "moved in within the last year" and consent dates are relative to this day (YYYY-MM-DD); default today in Asia/Tokyo. */
  referenceDate?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface PopulationResult {
  residents: number;
  households: number;
  seconds: number;
}

export const MAX_RESIDENTS = 5_000_000;
export const DEFAULT_ID_PREFIX = 'P';
const DEFAULT_BATCH_SIZE = 5_000;
/** Statements in flight at once: two backends keep up with one generator (measured on two cores). */
const CONNECTIONS = 2;

type InsuranceType = (typeof INSURANCE_TYPES)[number];
/**
 * The synthetic city's wards: the geography the generator knows (town names,
 * postal codes, shares of the population), the same as the shipped
 * config/wards.yaml. A city whose wards file differs cannot generate with it.
 */
const SYNTHETIC_WARDS = ['chuo', 'kita', 'minami', 'higashi', 'nishi', 'minato'] as const;
type Ward = (typeof SYNTHETIC_WARDS)[number];
type ResidenceStatus = ResidentsTable['residence_status'];
type EmailStatus = ResidentsTable['email_status'];

/** Letters, digits, '-' or '_', not ending in a digit (so 'P' can never claim the ids of 'P1'). */
export function checkIdPrefix(prefix: string): string | null {
  if (!/^[A-Za-z](?:[A-Za-z0-9_-]{0,30}[A-Za-z_-])?$/.test(prefix)) {
    return `id prefix must be 1-32 letters, digits, '-' or '_', start with a letter and not end with a digit (got '${prefix}')`;
  }
  return null;
}

// ---------------------------------------------------------------------------
// Seeded randomness

/** xoshiro128** seeded through splitmix32: tiny, fast, and a period far beyond the draws of 5 million residents. */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const wide = BigInt(Math.trunc(seed));
    let s = Number(BigInt.asUintN(32, wide)) | 0;
    const high = Number(BigInt.asUintN(32, wide >> 32n)) | 0;
    const split = (): number => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.a = split();
    this.b = split() ^ high;
    this.c = split();
    this.d = split();
    if ((this.a | this.b | this.c | this.d) === 0) this.d = 1;
  }

  /** Uniform unsigned 32-bit integer. */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Approximately normal (Irwin–Hall of four uniforms): no transcendental functions, so identical on every platform. */
  normal(mean: number, sd: number): number {
    const sum = this.next() + this.next() + this.next() + this.next();
    return mean + (sum - 2) * 1.7320508075688772 * sd;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.uint32();
      for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** A weighted choice, precomputed once. */
class Weighted<T> {
  private readonly cumulative: number[] = [];
  private readonly items: T[] = [];
  private readonly total: number;

  constructor(entries: ReadonlyArray<readonly [T, number]>) {
    let sum = 0;
    for (const [item, weight] of entries) {
      if (weight <= 0) continue;
      sum += weight;
      this.items.push(item);
      this.cumulative.push(sum);
    }
    this.total = sum;
  }

  draw(rng: SeededRandom): T {
    const x = rng.next() * this.total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return this.items[lo]!;
  }
}

// ---------------------------------------------------------------------------
// Calendar days (days since 1970-01-01; no time zones involved)

const DAYS_PER_YEAR = 365.2425;

function dayOfIso(iso: string): number {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  return Date.UTC(y, m - 1, d) / 86_400_000;
}

/** Year, month and day of a day number (Hinnant's civil_from_days; far faster than Date for millions of rows). */
function civil(day: number): [number, number, number] {
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function isoOfDay(day: number): string {
  const [y, m, d] = civil(day);
  return `${y}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
}

/** Whole years between a birth day and another day, as the register counts them. */
function ageOn(birth: number, on: number): number {
  const [by, bm, bd] = civil(birth);
  const [y, m, d] = civil(on);
  return ageOnDate({ year: by, month: bm, day: bd }, { year: y, month: m, day: d });
}

/** 'THH:MM:00+09:00' for each minute of the day: built once, since millions of timestamps need one. */
const TIMES_OF_DAY: readonly string[] = Array.from({ length: 1440 }, (_, minute) => {
  const h = Math.floor(minute / 60);
  const m = minute % 60;
  return `T${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}:00+09:00`;
});

/** ISO strings of the days a run uses, cached: formatting them anew for every row is most of the garbage. */
class DayNames {
  private readonly names: Array<string | undefined>;
  private readonly first: number;

  constructor(ref: number) {
    this.first = ref - 120 * 366;
    this.names = new Array<string | undefined>(ref - this.first + 1);
  }

  iso(day: number): string {
    const index = day - this.first;
    if (index < 0 || index >= this.names.length) return isoOfDay(day);
    return (this.names[index] ??= isoOfDay(day));
  }
  /** An instant on a calendar day at a minute of it, in Japan's offset. */
  timestamp(day: number, minuteOfDay: number): string {
    return this.iso(day) + TIMES_OF_DAY[minuteOfDay]!;
  }
}

// ---------------------------------------------------------------------------
// Fictional names and places

type Name = readonly [kanji: string, romaji: string];

// Common Japanese family names, most frequent first (drawn with a Zipf-like weight).
const FAMILY_NAMES: readonly Name[] = [
  ['佐藤', 'sato'],
  ['鈴木', 'suzuki'],
  ['高橋', 'takahashi'],
  ['田中', 'tanaka'],
  ['伊藤', 'ito'],
  ['渡辺', 'watanabe'],
  ['山本', 'yamamoto'],
  ['中村', 'nakamura'],
  ['小林', 'kobayashi'],
  ['加藤', 'kato'],
  ['吉田', 'yoshida'],
  ['山田', 'yamada'],
  ['佐々木', 'sasaki'],
  ['山口', 'yamaguchi'],
  ['松本', 'matsumoto'],
  ['井上', 'inoue'],
  ['木村', 'kimura'],
  ['林', 'hayashi'],
  ['斎藤', 'saito'],
  ['清水', 'shimizu'],
  ['山崎', 'yamazaki'],
  ['森', 'mori'],
  ['池田', 'ikeda'],
  ['橋本', 'hashimoto'],
  ['阿部', 'abe'],
  ['石川', 'ishikawa'],
  ['山下', 'yamashita'],
  ['中島', 'nakajima'],
  ['石井', 'ishii'],
  ['小川', 'ogawa'],
  ['前田', 'maeda'],
  ['岡田', 'okada'],
  ['長谷川', 'hasegawa'],
  ['藤田', 'fujita'],
  ['後藤', 'goto'],
  ['近藤', 'kondo'],
];
const FOREIGN_FAMILY_NAMES: readonly Name[] = [
  ['スミス', 'smith'],
  ['ジョンソン', 'johnson'],
  ['グエン', 'nguyen'],
  ['サントス', 'santos'],
  ['シルバ', 'silva'],
  ['ガルシア', 'garcia'],
  ['パテル', 'patel'],
  ['ブラウン', 'brown'],
  ['ロペス', 'lopez'],
  ['チャン', 'tran'],
];

// Given names by sex and the era people were born in, so a 90-year-old is not called 陽翔.
const GIVEN_NAMES: Record<'m' | 'f', ReadonlyArray<{ bornUntil: number; names: readonly Name[] }>> = {
  m: [
    {
      bornUntil: 1955,
      names: [
        ['清', 'kiyoshi'],
        ['茂', 'shigeru'],
        ['博', 'hiroshi'],
        ['勇', 'isamu'],
        ['実', 'minoru'],
        ['進', 'susumu'],
        ['正', 'tadashi'],
        ['武', 'takeshi'],
        ['昭', 'akira'],
        ['和夫', 'kazuo'],
        ['隆', 'takashi'],
        ['三郎', 'saburo'],
      ],
    },
    {
      bornUntil: 1985,
      names: [
        ['誠', 'makoto'],
        ['大輔', 'daisuke'],
        ['浩', 'hiroshi'],
        ['健一', 'kenichi'],
        ['哲也', 'tetsuya'],
        ['直樹', 'naoki'],
        ['剛', 'tsuyoshi'],
        ['和也', 'kazuya'],
        ['拓也', 'takuya'],
        ['隆之', 'takayuki'],
        ['修', 'osamu'],
        ['淳', 'jun'],
      ],
    },
    {
      bornUntil: 2005,
      names: [
        ['翔太', 'shota'],
        ['大輝', 'daiki'],
        ['拓海', 'takumi'],
        ['健太', 'kenta'],
        ['翔', 'sho'],
        ['蓮', 'ren'],
        ['颯太', 'sota'],
        ['駿', 'shun'],
        ['涼', 'ryo'],
        ['悠斗', 'yuto'],
        ['海斗', 'kaito'],
        ['大和', 'yamato'],
      ],
    },
    {
      bornUntil: 9999,
      names: [
        ['陽翔', 'haruto'],
        ['湊', 'minato'],
        ['蒼', 'aoi'],
        ['樹', 'itsuki'],
        ['悠真', 'yuma'],
        ['朝陽', 'asahi'],
        ['律', 'ritsu'],
        ['碧', 'aoi'],
        ['颯', 'hayate'],
        ['陽太', 'hinata'],
        ['蓮', 'ren'],
        ['結翔', 'yuito'],
      ],
    },
  ],
  f: [
    {
      bornUntil: 1955,
      names: [
        ['和子', 'kazuko'],
        ['幸子', 'sachiko'],
        ['節子', 'setsuko'],
        ['洋子', 'yoko'],
        ['恵子', 'keiko'],
        ['京子', 'kyoko'],
        ['久子', 'hisako'],
        ['美代子', 'miyoko'],
        ['文子', 'fumiko'],
        ['弘子', 'hiroko'],
        ['悦子', 'etsuko'],
        ['静子', 'shizuko'],
      ],
    },
    {
      bornUntil: 1985,
      names: [
        ['裕子', 'yuko'],
        ['真由美', 'mayumi'],
        ['久美子', 'kumiko'],
        ['恵美', 'emi'],
        ['由美子', 'yumiko'],
        ['智子', 'tomoko'],
        ['直美', 'naomi'],
        ['明美', 'akemi'],
        ['美香', 'mika'],
        ['陽子', 'yoko'],
        ['香織', 'kaori'],
        ['愛', 'ai'],
      ],
    },
    {
      bornUntil: 2005,
      names: [
        ['美咲', 'misaki'],
        ['彩', 'aya'],
        ['萌', 'moe'],
        ['陽菜', 'hina'],
        ['遥', 'haruka'],
        ['七海', 'nanami'],
        ['葵', 'aoi'],
        ['優花', 'yuka'],
        ['真央', 'mao'],
        ['明日香', 'asuka'],
        ['さくら', 'sakura'],
        ['結衣', 'yui'],
      ],
    },
    {
      bornUntil: 9999,
      names: [
        ['陽葵', 'himari'],
        ['凛', 'rin'],
        ['紬', 'tsumugi'],
        ['結菜', 'yuina'],
        ['芽依', 'mei'],
        ['澪', 'mio'],
        ['詩', 'uta'],
        ['結愛', 'yua'],
        ['杏', 'an'],
        ['咲良', 'sakura'],
        ['心春', 'koharu'],
        ['莉子', 'riko'],
      ],
    },
  ],
};
const FOREIGN_GIVEN_NAMES: Record<'m' | 'f', readonly Name[]> = {
  m: [
    ['ジョン', 'john'],
    ['マイケル', 'michael'],
    ['ミン', 'minh'],
    ['ラファエル', 'rafael'],
    ['アルジュン', 'arjun'],
    ['トーマス', 'thomas'],
    ['ダニエル', 'daniel'],
    ['ルーカス', 'lucas'],
  ],
  f: [
    ['エミリー', 'emily'],
    ['サラ', 'sarah'],
    ['アンナ', 'anna'],
    ['リン', 'linh'],
    ['マリア', 'maria'],
    ['プリヤ', 'priya'],
    ['ソフィア', 'sofia'],
    ['ジェシカ', 'jessica'],
  ],
};

const MAIL_DOMAINS = ['mail.example', 'mobile.example', 'web.example', 'net.example', 'post.example'] as const;

interface Town {
  name: string;
  ward: Ward;
  postalCode: string;
  chome: number;
}

const TOWN_NAMES: Record<Ward, readonly string[]> = {
  chuo: ['本町', '栄町', '錦町', '大手町', '寿町'],
  kita: ['北原', '若葉', '青葉台', '松が丘', '緑町'],
  minami: ['南台', '桜町', '日の出町', '曙町', '宮前'],
  higashi: ['東雲', '旭町', '朝日が丘', '八幡町', '双葉町'],
  nishi: ['西ケ丘', '柳町', '城山', '中野', '梅田町'],
  minato: ['港町', '浜町', '川端町', '白銀町', '新町'],
};
// Share of the population by ward: the centre is small, the suburbs large.
const WARD_WEIGHTS: Record<Ward, number> = { chuo: 12, kita: 19, minami: 19, higashi: 17, nishi: 19, minato: 14 };

const TOWNS: Town[] = SYNTHETIC_WARDS.flatMap((ward, w) =>
  TOWN_NAMES[ward].map((name, t) => ({
    name,
    ward,
    // One fictional code per town, as Japan Post assigns them.
    postalCode: `${870 + w}-${String(101 + t * 37 + w * 3).padStart(4, '0')}`,
    chome: 3 + ((w + t) % 4),
  })),
);
const TOWN_CHOICE = new Weighted(TOWNS.map((town) => [town, WARD_WEIGHTS[town.ward] / TOWN_NAMES[town.ward].length] as const));
const FAMILY_NAME_CHOICE = new Weighted(FAMILY_NAMES.map((name, rank) => [name, 1 / Math.pow(rank + 1, 0.7)] as const));

// ---------------------------------------------------------------------------
// Households

type HouseholdKind = 'single' | 'couple' | 'couple-with-children' | 'single-parent' | 'three-generations';
const KINDS: readonly HouseholdKind[] = ['single', 'couple', 'couple-with-children', 'single-parent', 'three-generations'];

/**
 * Age of the household's reference person (years, from 18) by 5-year band. Tuned so
 * that, with spouses, children and grandparents added, the population follows
 * Japan's pyramid: few children, a bulge at 45–55 and 70–75, ~16% aged 75+.
 */
const HEAD_AGE_BANDS: ReadonlyArray<readonly [from: number, to: number, weight: number]> = [
  [18, 19, 1.6],
  [20, 24, 6.2],
  [25, 29, 6.3],
  [30, 34, 5.6],
  [35, 39, 5.9],
  [40, 44, 6.2],
  [45, 49, 7.4],
  [50, 54, 7.3],
  [55, 59, 6.3],
  [60, 64, 5.9],
  [65, 69, 6.3],
  [70, 74, 8.0],
  [75, 79, 6.9],
  [80, 84, 6.1],
  [85, 89, 4.6],
  [90, 94, 2.5],
  [95, 99, 0.6],
  [100, 104, 0.045],
  [105, 108, 0.003],
];
const HEAD_AGE = new Weighted(
  HEAD_AGE_BANDS.flatMap(([from, to, weight]) => Array.from({ length: to - from + 1 }, (_, i) => [from + i, weight / (to - from + 1)] as const)),
);

/** Household kind by the reference person's age: [upper age, weights in KINDS order]. */
const KIND_BY_HEAD_AGE: ReadonlyArray<readonly [number, Weighted<HouseholdKind>]> = (
  [
    [24, [76, 9, 11, 4, 0]],
    [29, [54, 17, 24, 5, 0]],
    [34, [32, 15, 45, 7, 1]],
    [39, [22, 10, 56, 9, 3]],
    [44, [20, 9, 56, 10, 5]],
    [49, [20, 9, 54, 10, 7]],
    [54, [21, 13, 48, 10, 8]],
    [59, [21, 22, 40, 10, 7]],
    [64, [21, 35, 29, 9, 6]],
    [69, [24, 46, 20, 8, 2]],
    [74, [27, 48, 17, 8, 0]],
    [79, [35, 43, 12, 10, 0]],
    [84, [42, 35, 10, 13, 0]],
    [200, [56, 21, 8, 15, 0]],
  ] as const
).map(([upTo, weights]) => [upTo, new Weighted(KINDS.map((kind, i) => [kind, weights[i]!] as const))] as const);

interface Person {
  sex: 'm' | 'f';
  birth: number;
  role: 'adult' | 'spouse' | 'child' | 'grandparent';
}

interface Household {
  kind: HouseholdKind;
  members: Person[];
}

function kindFor(rng: SeededRandom, headAge: number): HouseholdKind {
  for (const [upTo, choice] of KIND_BY_HEAD_AGE) if (headAge <= upTo) return choice.draw(rng);
  return 'single';
}

/** A birth day for someone of a whole age on the reference day, uniform over that year of life. */
function birthForAge(rng: SeededRandom, ref: number, age: number): number {
  return ref - Math.floor((age + rng.next()) * DAYS_PER_YEAR);
}

/** A partner of someone born on `birth`: typically a couple of years younger or older. */
function spouseOf(rng: SeededRandom, person: Person, ref: number): Person {
  const gap = Math.round(rng.normal(2.2, 3) * DAYS_PER_YEAR);
  const birth = person.sex === 'm' ? person.birth + gap : person.birth - gap;
  // Nobody in the register married under 18.
  return { sex: person.sex === 'm' ? 'f' : 'm', birth: Math.min(birth, ref - 18 * 366), role: 'spouse' };
}

/**
 * Children born to a mother: first birth around 30, siblings 1–6 years apart,
 * twins now and then, nobody born after the reference day or to a mother over 45.
 * Adult children have often left home, but at least one stays when `atLeastOne`.
 */
function childrenOf(rng: SeededRandom, motherBirth: number, ref: number, atLeastOne: boolean): Person[] {
  const count = rng.chance(0.48) ? 1 : rng.chance(0.76) ? 2 : 3;
  const earliest = motherBirth + Math.floor(19 * DAYS_PER_YEAR);
  const latest = motherBirth + Math.floor(45 * DAYS_PER_YEAR);
  let birth = motherBirth + Math.floor(Math.min(43, Math.max(19, rng.normal(30.5, 4.2))) * DAYS_PER_YEAR) + rng.below(365);
  if (birth > ref) {
    if (!atLeastOne || earliest > ref) return [];
    birth = earliest + rng.below(ref - earliest + 1);
  }
  const born: Person[] = [];
  for (let i = 0; i < count && birth <= ref && birth <= latest; i++) {
    born.push({ sex: rng.chance(0.512) ? 'm' : 'f', birth, role: 'child' });
    birth += rng.chance(0.012) ? 0 : Math.floor(Math.max(1.1, rng.normal(3.1, 0.9)) * DAYS_PER_YEAR);
  }
  const home = born.filter((child) => {
    const age = (ref - child.birth) / DAYS_PER_YEAR;
    const stays = age < 18 ? 1 : age < 23 ? 0.75 : age < 30 ? 0.5 : age < 40 ? 0.35 : 0.2;
    return rng.chance(stays);
  });
  if (home.length === 0 && atLeastOne && born.length > 0) home.push(born[born.length - 1]!);
  return home;
}

function buildHousehold(rng: SeededRandom, ref: number): Household {
  const headAge = HEAD_AGE.draw(rng);
  let kind = kindFor(rng, headAge);
  const head: Person = { sex: rng.chance(0.5) ? 'm' : 'f', birth: birthForAge(rng, ref, headAge), role: 'adult' };
  // Elderly people living alone are mostly women (they outlive their husbands).
  if (kind === 'single' && headAge >= 70) head.sex = rng.chance(0.68) ? 'f' : 'm';
  const members: Person[] = [head];
  if (kind === 'couple' || kind === 'couple-with-children' || kind === 'three-generations') {
    members.push(spouseOf(rng, head, ref));
  }
  if (kind === 'single-parent') head.sex = rng.chance(0.86) ? 'f' : 'm';
  if (kind === 'couple-with-children' || kind === 'single-parent' || kind === 'three-generations') {
    const mother = members.find((m) => m.sex === 'f') ?? head;
    const children = childrenOf(rng, mother.birth, ref, true);
    if (children.length === 0) kind = kind === 'single-parent' ? 'single' : 'couple';
    members.push(...children);
  }
  if (kind === 'three-generations') {
    // A parent of the head (or both), at least 18 years older.
    const elder: Person = {
      sex: rng.chance(0.7) ? 'f' : 'm',
      birth: head.birth - Math.floor(Math.max(18, rng.normal(29, 3.5)) * DAYS_PER_YEAR),
      role: 'grandparent',
    };
    if (ageOn(elder.birth, ref) <= 106) {
      members.push(elder);
      if (rng.chance(0.35)) {
        const partner = spouseOf(rng, elder, ref);
        if (ageOn(partner.birth, ref) <= 104) members.push({ ...partner, role: 'grandparent' });
      }
    }
  }
  return { kind, members };
}

// ---------------------------------------------------------------------------
// Attributes

/** Income bracket (1–8) the household's tax assessment gives, by kind and the head's age. */
function incomeBracket(rng: SeededRandom, kind: HouseholdKind, headAge: number, earners: number): number {
  let mean: number;
  if (headAge >= 65) mean = kind === 'single' ? 1.9 : 2.9;
  else if (kind === 'single-parent') mean = 2.3;
  else if (kind === 'single') mean = headAge < 30 ? 2.7 : 3.5;
  else mean = headAge < 30 ? 3.7 : headAge < 40 ? 4.5 : headAge < 60 ? 5.2 : 4.3;
  mean += 0.5 * Math.max(0, earners - 1);
  return Math.min(8, Math.max(1, Math.round(rng.normal(mean, 1.35))));
}

function disabilityChance(age: number): number {
  return age < 18 ? 0.012 : age < 65 ? 0.028 : age < 75 ? 0.055 : 0.085;
}

function emailChance(age: number): number {
  return age < 13 ? 0 : age < 18 ? 0.55 : age < 65 ? 0.9 : age < 75 ? 0.68 : age < 85 ? 0.4 : 0.15;
}

function pushChance(age: number): number {
  return age < 6 ? 0 : age < 13 ? 0.02 : age < 18 ? 0.35 : age < 40 ? 0.56 : age < 65 ? 0.45 : age < 75 ? 0.24 : age < 85 ? 0.08 : 0.03;
}

function deathChance(age: number): number {
  return age < 50 ? 0 : age < 65 ? 0.0008 : age < 80 ? 0.003 : age < 90 ? 0.012 : 0.035;
}

// How readily residents consent to each purpose; raised for the purposes that concern them.
const CONSENT_BASE: Record<Purpose, number> = {
  'child-benefits': 0.78,
  'child-health': 0.79,
  'school-support': 0.74,
  'elderly-care': 0.77,
  'late-elderly-medical': 0.75,
  'health-insurance': 0.8,
  relocation: 0.82,
  bereavement: 0.71,
};
const CHILD_PURPOSES: ReadonlySet<Purpose> = new Set<Purpose>(['child-benefits', 'child-health', 'school-support']);
const ELDER_PURPOSES: ReadonlySet<Purpose> = new Set<Purpose>(['elderly-care', 'late-elderly-medical']);

/** When the city started asking residents for consent; nobody consented earlier. */
const SERVICE_YEARS = 3;

// ---------------------------------------------------------------------------
// Rows

export interface ResidentColumns {
  id: string[];
  household_id: string[];
  family_name: string[];
  given_name: string[];
  birth_date: string[];
  locale: Locale[];
  email: Array<string | null>;
  email_status: EmailStatus[];
  postal_code: Array<string | null>;
  address: Array<string | null>;
  ward: string[];
  residence_status: ResidenceStatus[];
  income_bracket: Array<number | null>;
  insurance_type: Array<InsuranceType | null>;
  disability_certificate: boolean[];
  moved_in_on: Array<string | null>;
  created_at: string[];
}

export interface ConsentColumns {
  resident_id: string[];
  purpose: string[];
  granted_at: string[];
  withdrawn_at: Array<string | null>;
}

export interface SubscriptionColumns {
  resident_id: string[];
  endpoint: string[];
  p256dh: string[];
  auth: string[];
  created_at: string[];
}

/** One INSERT's worth of rows, column by column (the shape `unnest` takes). */
export interface PopulationBatch {
  residents: ResidentColumns;
  consents: ConsentColumns;
  subscriptions: SubscriptionColumns;
  households: number;
}

function emptyBatch(): PopulationBatch {
  return {
    residents: {
      id: [],
      household_id: [],
      family_name: [],
      given_name: [],
      birth_date: [],
      locale: [],
      email: [],
      email_status: [],
      postal_code: [],
      address: [],
      ward: [],
      residence_status: [],
      income_bracket: [],
      insurance_type: [],
      disability_certificate: [],
      moved_in_on: [],
      created_at: [],
    },
    consents: { resident_id: [], purpose: [], granted_at: [], withdrawn_at: [] },
    subscriptions: { resident_id: [], endpoint: [], p256dh: [], auth: [], created_at: [] },
    households: 0,
  };
}

function givenName(rng: SeededRandom, person: Person, foreign: boolean): Name {
  if (foreign) return rng.pick(FOREIGN_GIVEN_NAMES[person.sex]);
  const year = civil(person.birth)[0];
  const eras = GIVEN_NAMES[person.sex];
  return rng.pick((eras.find((era) => year <= era.bornUntil) ?? eras[eras.length - 1]!).names);
}

function requireDate(value: string, what: string): string {
  if (!isIsoDate(value)) throw new Error(`${what} must be a date YYYY-MM-DD (got '${value}')`);
  return value;
}

/**
 * The population as batches of rows, generated lazily: household by household
 * from one random stream, so batching never changes what is generated.
 */
function resolveOptions(options: Omit<PopulationOptions, 'onProgress'>) {
  const total = options.residents;
  if (!Number.isInteger(total) || total < 1 || total > MAX_RESIDENTS) throw new Error(`residents must be an integer from 1 to ${MAX_RESIDENTS} (got ${total})`);
  if (!Number.isSafeInteger(options.seed)) throw new Error(`seed must be an integer (got ${options.seed})`);
  const prefix = options.idPrefix ?? DEFAULT_ID_PREFIX;
  const prefixProblem = checkIdPrefix(prefix);
  if (prefixProblem) throw new Error(prefixProblem);
  return {
    total,
    seed: options.seed,
    prefix,
    batchSize: Math.max(1, Math.floor(options.batchSize ?? DEFAULT_BATCH_SIZE)),
    refIso: requireDate(options.referenceDate ?? todayInTokyo(), 'reference date'),
  };
}

export function* synthesizePopulation(options: Omit<PopulationOptions, 'onProgress'>): Generator<PopulationBatch> {
  const unknownWards = SYNTHETIC_WARDS.filter((ward) => !WARDS.includes(ward));
  if (unknownWards.length > 0) {
    throw new Error(`the synthetic population lives in the wards ${SYNTHETIC_WARDS.join(', ')}; the wards file does not list ${unknownWards.join(', ')}`);
  }
  const { total, prefix, batchSize, refIso, seed } = resolveOptions(options);
  const ref = dayOfIso(refIso);
  const serviceStart = ref - Math.round(SERVICE_YEARS * DAYS_PER_YEAR);
  const createdAt = `${refIso}T00:00:00+09:00`;
  const residentDigits = Math.max(7, String(total).length);
  const householdDigits = total > 999_999 ? 7 : 6;

  const rng = new SeededRandom(seed);
  const days = new DayNames(ref);
  let batch = emptyBatch();
  let made = 0;
  let householdNumber = 0;

  while (made < total) {
    const household = buildHousehold(rng, ref);
    const members = household.members.slice(0, total - made);
    householdNumber += 1;
    const householdId = `${prefix}HH${String(householdNumber).padStart(householdDigits, '0')}`;
    const head = members[0]!;
    const headAge = ageOn(head.birth, ref);
    const ages = members.map((m) => ageOn(m.birth, ref));

    // Household-wide facts: language, address, moving in, income, insurance of the main earner.
    const elderly = headAge >= 65;
    const locale: Locale = rng.chance(elderly ? 0.012 : 0.063) ? 'en' : rng.chance(elderly ? 0.025 : 0.03) ? 'ja-easy' : 'ja';
    const foreign = locale !== 'ja' && rng.chance(0.65);
    const family = foreign ? rng.pick(FOREIGN_FAMILY_NAMES) : FAMILY_NAME_CHOICE.draw(rng);
    const town = TOWN_CHOICE.draw(rng);
    const hasAddress = rng.chance(0.99);
    const address = hasAddress ? `おしらせ市${town.name}${rng.int(1, town.chome)}-${rng.int(1, 32)}-${rng.int(1, 24)}` : null;
    const recentMoveChance = headAge < 35 ? 0.125 : headAge < 50 ? 0.055 : headAge < 65 ? 0.025 : 0.012;
    let movedIn: number | null = null;
    if (rng.chance(recentMoveChance)) movedIn = ref - rng.below(365);
    else if (rng.chance(0.5)) {
      const adultFrom = head.birth + Math.floor(18 * DAYS_PER_YEAR);
      const until = ref - 366;
      if (adultFrom < until) movedIn = adultFrom + rng.below(until - adultFrom);
    }
    const workingAdults = ages.filter((age) => age >= 20 && age < 65).length;
    const publicAssistance = rng.chance(
      household.kind === 'single' ? (elderly ? 0.045 : 0.022) : household.kind === 'single-parent' ? 0.09 : elderly ? 0.01 : 0.003,
    );
    const unassessed = (movedIn !== null && movedIn > ref - 365 && rng.chance(0.45)) || rng.chance(0.015);
    const income = publicAssistance ? 1 : unassessed ? null : incomeBracket(rng, household.kind, headAge, workingAdults);
    const earnerInsurance: InsuranceType = rng.chance(household.kind === 'single-parent' ? 0.56 : headAge < 30 ? 0.78 : 0.74) ? 'employee' : 'national-health';
    const movedOutTogether = rng.chance(0.009);
    // How readily this household consents at all; some never signed up.
    const participates = rng.chance(0.93);
    const attitude = rng.normal(0.04, 0.1);
    const hasChildren = ages.some((age, i) => age < 18 && members[i]!.role === 'child');
    let guardianEmail: string | null = null;

    const r = batch.residents;
    for (let i = 0; i < members.length; i++) {
      const person = members[i]!;
      const age = ages[i]!;
      made += 1;
      const id = `${prefix}${String(made).padStart(residentDigits, '0')}`;
      const given = givenName(rng, person, foreign);

      let email: string | null = null;
      if (rng.chance(emailChance(age))) email = `${given[1]}.${family[1]}.${made.toString(36)}@${rng.pick(MAIL_DOMAINS)}`;
      else if (age < 13 && guardianEmail && rng.chance(0.5)) email = guardianEmail; // reached through a parent's address
      if (email && guardianEmail === null && age >= 18) guardianEmail = email;
      const emailStatus: EmailStatus = email === null ? 'unverified' : rng.chance(0.93) ? 'valid' : rng.chance(0.7) ? 'unverified' : 'invalid';

      const disabled = rng.chance(disabilityChance(age));
      let insurance: InsuranceType | null;
      if (publicAssistance) insurance = 'public-assistance';
      else if (age >= 75) insurance = 'late-elderly';
      else if (rng.chance(0.003))
        insurance = null; // not linked to the insurance register
      else if (age >= 65) insurance = disabled && rng.chance(0.3) ? 'late-elderly' : rng.chance(0.17) ? 'employee' : 'national-health';
      else if (person.role === 'child' && (age < 20 || (age < 23 && rng.chance(0.6))))
        insurance = earnerInsurance; // a dependent
      else if (person.role === 'spouse') insurance = earnerInsurance === 'employee' || rng.chance(0.15) ? 'employee' : 'national-health';
      else if (i === 0) insurance = foreign && rng.chance(0.05) ? 'none' : earnerInsurance;
      else insurance = rng.chance(0.7) ? 'employee' : rng.chance(0.98) ? 'national-health' : 'none';

      let status: ResidenceStatus = 'registered';
      if (movedOutTogether || (person.role === 'child' && age >= 18 && age < 36 && rng.chance(0.03))) status = 'moved-out';
      else if (rng.chance(deathChance(age))) status = 'deceased';

      r.id.push(id);
      r.household_id.push(householdId);
      r.family_name.push(family[0]);
      r.given_name.push(given[0]);
      r.birth_date.push(days.iso(person.birth));
      r.locale.push(locale);
      r.email.push(email);
      r.email_status.push(emailStatus);
      r.postal_code.push(hasAddress ? town.postalCode : null);
      r.address.push(address);
      r.ward.push(town.ward);
      r.residence_status.push(status);
      r.income_bracket.push(income);
      r.insurance_type.push(insurance);
      r.disability_certificate.push(disabled);
      // Someone born after the household moved in was born here.
      r.moved_in_on.push(movedIn !== null && person.birth < movedIn ? days.iso(movedIn) : null);
      r.created_at.push(createdAt);

      // Consent per purpose, from the service's start (or the resident's arrival or birth) until the reference day.
      const from = Math.max(serviceStart, person.birth, movedIn ?? serviceStart);
      if (participates && from < ref) {
        const older = age >= 65 ? -0.06 : 0;
        for (const purpose of PURPOSE_IDS) {
          const concerns = (CHILD_PURPOSES.has(purpose) && hasChildren) || (ELDER_PURPOSES.has(purpose) && age >= 60) ? 0.12 : 0;
          if (!rng.chance(CONSENT_BASE[purpose] + concerns + older + attitude)) continue;
          const granted = from + rng.below(ref - from);
          const c = batch.consents;
          c.resident_id.push(id);
          c.purpose.push(purpose);
          c.granted_at.push(days.timestamp(granted, rng.int(7 * 60, 23 * 60 - 1)));
          // Withdrawn on a later day, before the reference day.
          const withdrawn = granted < ref - 1 && rng.chance(0.035) ? granted + 1 + rng.below(ref - granted - 1) : null;
          c.withdrawn_at.push(withdrawn === null ? null : days.timestamp(withdrawn, rng.int(7 * 60, 23 * 60 - 1)));
        }
      }

      // Browsers that subscribed to web push; fake but well-formed endpoints and keys.
      if (rng.chance(pushChance(age))) {
        const devices = rng.chance(0.12) ? 2 : 1;
        for (let k = 1; k <= devices; k++) {
          const s = batch.subscriptions;
          const p256dh = rng.bytes(65);
          p256dh[0] = 0x04; // an uncompressed P-256 point
          s.resident_id.push(id);
          s.endpoint.push(`https://push.invalid/wpush/${id}-${k}/${rng.bytes(24).toString('base64url')}`);
          s.p256dh.push(p256dh.toString('base64url'));
          s.auth.push(rng.bytes(16).toString('base64url'));
          const since = Math.max(serviceStart, person.birth);
          s.created_at.push(days.timestamp(since + rng.below(Math.max(1, ref - since)), rng.below(1440)));
        }
      }
    }
    batch.households += 1;
    if (r.id.length >= batchSize) {
      yield batch;
      batch = emptyBatch();
    }
  }
  if (batch.residents.id.length > 0) yield batch;
}

// ---------------------------------------------------------------------------
// Database

/** One statement for a batch's residents, consents and subscriptions: a single round trip, every value a bound array. */
function insertStatement(batch: PopulationBatch): RawBuilder<unknown> {
  const r = batch.residents;
  const c = batch.consents;
  const s = batch.subscriptions;
  // Foreign keys are checked at the end of the statement, after the residents CTE has run.
  return sql`
    with new_residents as (
      insert into residents (id, household_id, family_name, given_name, birth_date, locale, email, email_status, postal_code, address,
                             ward, residence_status, income_bracket, insurance_type, disability_certificate, moved_in_on, created_at)
      select * from unnest(${r.id}::text[], ${r.household_id}::text[], ${r.family_name}::text[], ${r.given_name}::text[], ${r.birth_date}::date[],
                           ${r.locale}::text[], ${r.email}::text[], ${r.email_status}::text[], ${r.postal_code}::text[], ${r.address}::text[],
                           ${r.ward}::text[], ${r.residence_status}::text[], ${r.income_bracket}::integer[], ${r.insurance_type}::text[],
                           ${r.disability_certificate}::boolean[], ${r.moved_in_on}::date[], ${r.created_at}::timestamptz[])
    ), new_consents as (
      insert into consents (resident_id, purpose, granted_at, withdrawn_at)
      select * from unnest(${c.resident_id}::text[], ${c.purpose}::text[], ${c.granted_at}::timestamptz[], ${c.withdrawn_at}::timestamptz[])
    )
    insert into push_subscriptions (resident_id, endpoint, p256dh, auth, created_at)
    select * from unnest(${s.resident_id}::text[], ${s.endpoint}::text[], ${s.p256dh}::text[], ${s.auth}::text[], ${s.created_at}::timestamptz[])`;
}

/** Lets pending I/O (statements just handed to pg) go out before the next batch is generated synchronously. */
const yieldToIo = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Generates a population into the database; refuses when residents with the
 * prefix exist already (clear them first). Batches are generated while the
 * server inserts earlier ones, two statements in flight on two connections:
 * the foreign-key checks of millions of consents are the bulk of the work and
 * keep a backend busy. Each batch commits on its own; if one fails, what this
 * run wrote is cleared again before the error is rethrown.
 */
export async function generatePopulation(db: Kysely<Database>, options: PopulationOptions): Promise<PopulationResult> {
  const started = performance.now();
  const { prefix } = resolveOptions(options);
  const existing = await sql<{ found: boolean }>`select exists (select 1 from residents r where ${generatedId('r.id', prefix)}) as found`.execute(db);
  if (existing.rows[0]?.found) throw new Error(`residents with id prefix '${prefix}' exist already; clear them first`);
  const batches = synthesizePopulation(options);
  const inFlight: Array<{ done: Promise<unknown>; size: number }> = [];
  let residents = 0;
  let households = 0;
  const settleOldest = async (): Promise<void> => {
    const oldest = inFlight.shift();
    if (!oldest) return;
    await oldest.done;
    residents += oldest.size;
    options.onProgress?.(residents, options.residents);
  };
  try {
    for (const batch of batches) {
      while (inFlight.length >= CONNECTIONS) await settleOldest();
      const done = insertStatement(batch).execute(db);
      done.catch(() => {}); // observed by settleOldest; avoids an unhandled rejection meanwhile
      inFlight.push({ done, size: batch.residents.id.length });
      households += batch.households;
      await yieldToIo();
    }
    while (inFlight.length > 0) await settleOldest();
  } catch (error) {
    await Promise.allSettled(inFlight.map((f) => f.done));
    await clearPopulation(db, prefix).catch(() => {});
    throw error;
  }
  return { residents, households, seconds: (performance.now() - started) / 1000 };
}

/** Rows whose id is `<prefix>` followed by digits only: what a run with that prefix created, and nothing else. */
function generatedId(column: 'r.id' | 'o.resident_id' | 'resident_id', prefix: string): RawBuilder<boolean> {
  return sql<boolean>`(starts_with(${sql.ref(column)}, ${prefix}) and substr(${sql.ref(column)}, ${prefix.length + 1}) ~ '^[0-9]+$')`;
}

export interface ClearResult {
  residents: number;
  consents: number;
  pushSubscriptions: number;
  outreach: number;
}

/**
 * Deletes a generated population and everything that hangs off it (consents,
 * subscriptions, life events, outreach with its deliveries, tasks and
 * suppressions) in one transaction. The audit log is left alone: it is an
 * append-only record and holds no foreign keys.
 */
export async function clearPopulation(db: Kysely<Database>, idPrefix: string = DEFAULT_ID_PREFIX): Promise<ClearResult> {
  const problem = checkIdPrefix(idPrefix);
  if (problem) throw new Error(problem);
  return db.transaction().execute(async (trx) => {
    // Deleting a resident makes PostgreSQL look for rows still referencing it; where the
    // referencing column has no index that is a full scan per resident, hours for a large
    // population. Such an index is added for this transaction only and dropped before commit.
    const helperIndexes: string[] = [];
    for (const table of ['push_subscriptions', 'life_events'] as const) {
      if (await hasIndexLeadingWith(trx, table, 'resident_id')) continue;
      const name = `${table}_resident_for_clear`;
      await sql`create index ${sql.id(name)} on ${sql.table(table)} (resident_id)`.execute(trx);
      helperIndexes.push(name);
    }
    const outreachIds = sql`(select o.id from outreach o where ${generatedId('o.resident_id', idPrefix)})`;
    await sql`delete from suppressions where source_outreach_id in ${outreachIds}`.execute(trx);
    await deleteCaseworkerTasksOfOutreach(trx, outreachIds);
    await deleteDeliveriesOfOutreach(trx, outreachIds);
    const outreach = await sql`delete from outreach where ${generatedId('resident_id', idPrefix)}`.execute(trx);
    await sql`delete from life_events where ${generatedId('resident_id', idPrefix)}`.execute(trx);
    const subscriptions = await sql`delete from push_subscriptions where ${generatedId('resident_id', idPrefix)}`.execute(trx);
    const consents = await sql`delete from consents where ${generatedId('resident_id', idPrefix)}`.execute(trx);
    const residents = await sql`delete from residents r where ${generatedId('r.id', idPrefix)}`.execute(trx);
    for (const name of helperIndexes) await sql`drop index ${sql.id(name)}`.execute(trx);
    return {
      residents: Number(residents.numAffectedRows ?? 0n),
      consents: Number(consents.numAffectedRows ?? 0n),
      pushSubscriptions: Number(subscriptions.numAffectedRows ?? 0n),
      outreach: Number(outreach.numAffectedRows ?? 0n),
    };
  });
}

async function hasIndexLeadingWith(db: Kysely<Database>, table: string, column: string): Promise<boolean> {
  const found = await sql<{ found: boolean }>`
    select exists (
      select 1 from pg_index i
      join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
      where i.indrelid = to_regclass(${table}) and a.attname = ${column}
    ) as found`.execute(db);
  return found.rows[0]?.found === true;
}

export interface PopulationProfile {
  residents: number;
  households: number;
  withEmail: number;
  withPush: number;
  /** Residents holding a consent in force (not withdrawn), by purpose. */
  consents: Record<string, number>;
}

/** Counts of a generated population as stored: for summaries and checks. */
export async function describePopulation(db: Kysely<Database>, idPrefix: string = DEFAULT_ID_PREFIX): Promise<PopulationProfile> {
  const totals = await sql<{ residents: string; households: string; with_email: string }>`
    select count(*) as residents, count(distinct r.household_id) as households, count(r.email) as with_email
    from residents r where ${generatedId('r.id', idPrefix)}`.execute(db);
  const push = await sql<{ n: string }>`
    select count(distinct resident_id) as n from push_subscriptions where ${generatedId('resident_id', idPrefix)}`.execute(db);
  const consents = await sql<{ purpose: string; n: string }>`
    select purpose, count(*) as n from consents
    where ${generatedId('resident_id', idPrefix)} and withdrawn_at is null group by purpose`.execute(db);
  const row = totals.rows[0];
  const byPurpose: Record<string, number> = Object.fromEntries(PURPOSE_IDS.map((p) => [p, 0]));
  for (const c of consents.rows) byPurpose[c.purpose] = Number(c.n);
  return {
    residents: Number(row?.residents ?? 0),
    households: Number(row?.households ?? 0),
    withEmail: Number(row?.with_email ?? 0),
    withPush: Number(push.rows[0]?.n ?? 0),
    consents: byPurpose,
  };
}
