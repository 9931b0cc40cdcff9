/**
 * Every attribute a rule may read, declared once: its type and the consent
 * purposes that cover it. A rule may read an attribute only if its own purpose
 * is among them (data minimisation, enforced by validation).
 */
import { loadWards } from '../../config/wards';
import { RESIDENCE_STATUSES } from '../../store/vocabulary';

export const PURPOSES = {
  'child-benefits': '児童手当・子ども医療費助成 (child allowance and child medical subsidy)',
  'child-health': '乳幼児健診 (infant health checks)',
  'school-support': '就学援助 (school expense support)',
  'elderly-care': '介護保険 (long-term care insurance)',
  'late-elderly-medical': '後期高齢者医療 (medical care for people 75 and over)',
  'health-insurance': '国民健康保険 (national health insurance)',
  relocation: '転入・転出の手続 (moving-in and moving-out procedures)',
  bereavement: 'おくやみ手続 (procedures after a death)',
} as const;
export type Purpose = keyof typeof PURPOSES;
export const PURPOSE_IDS = Object.keys(PURPOSES) as Purpose[];

/** One version of the text a resident agrees to when consenting to a purpose. A published version never changes: new text → new version. */
export interface PurposeWording {
  version: number;
  /** The day this wording was first shown. */
  from: string;
  text: { ja: string; en: string };
}

const USE_JA = '市が保有するあなたの情報（住民登録・世帯・所得区分など、この目的に必要なものに限ります）を使い、';
const USE_EN = 'The city may use the information it holds about you (register, household, income bracket: only what this purpose needs) to ';

/**
 * The versioned wording of each purpose's consent. A consent records the version the resident saw
 * (`oshirase consent grant --wording-version N`); a version not listed here is refused.
 */
export const PURPOSE_WORDINGS: Record<Purpose, readonly PurposeWording[]> = {
  'child-benefits': [
    {
      version: 1,
      from: '2025-04-01',
      text: {
        ja: `${USE_JA}児童手当・子ども医療費助成の対象になるときにお知らせすることに同意します。`,
        en: `${USE_EN}tell you when child allowance or the child medical subsidy applies to you.`,
      },
    },
  ],
  'child-health': [
    {
      version: 1,
      from: '2025-04-01',
      text: { ja: `${USE_JA}乳幼児健診の時期をお知らせすることに同意します。`, en: `${USE_EN}tell you when your child's health checks are due.` },
    },
  ],
  'school-support': [
    {
      version: 1,
      from: '2025-04-01',
      text: { ja: `${USE_JA}就学援助の対象になるときにお知らせすることに同意します。`, en: `${USE_EN}tell you when help with school costs applies to you.` },
    },
  ],
  'elderly-care': [
    {
      version: 1,
      from: '2025-04-01',
      text: { ja: `${USE_JA}介護保険の手続をお知らせすることに同意します。`, en: `${USE_EN}tell you about long-term care insurance procedures.` },
    },
  ],
  'late-elderly-medical': [
    {
      version: 1,
      from: '2025-04-01',
      text: {
        ja: `${USE_JA}後期高齢者医療への切り替えをお知らせすることに同意します。`,
        en: `${USE_EN}tell you about the change to medical care for people 75 and over.`,
      },
    },
  ],
  'health-insurance': [
    {
      version: 1,
      from: '2025-04-01',
      text: { ja: `${USE_JA}国民健康保険の手続をお知らせすることに同意します。`, en: `${USE_EN}tell you about national health insurance procedures.` },
    },
  ],
  relocation: [
    {
      version: 1,
      from: '2025-04-01',
      text: {
        ja: `${USE_JA}転入・転出に伴う手続をお知らせすることに同意します。`,
        en: `${USE_EN}tell you about the procedures that come with moving in or out.`,
      },
    },
  ],
  bereavement: [
    {
      version: 1,
      from: '2025-04-01',
      text: {
        ja: `${USE_JA}ご家族が亡くなられた後の手続をお知らせすることに同意します。`,
        en: `${USE_EN}tell you about the procedures after a death in your family.`,
      },
    },
  ],
};

export function isPurpose(value: string): value is Purpose {
  return Object.hasOwn(PURPOSES, value);
}

/** The wording of a purpose in the given version, or undefined when there is no such version. */
export function purposeWording(purpose: Purpose, version: number): PurposeWording | undefined {
  return PURPOSE_WORDINGS[purpose].find((w) => w.version === version);
}

/** The newest wording of a purpose: what a resident is shown today. */
export function currentPurposeWording(purpose: Purpose): PurposeWording {
  const versions = PURPOSE_WORDINGS[purpose];
  return versions.reduce((a, b) => (b.version > a.version ? b : a), versions[0]!);
}

export type AttributeType = 'integer' | 'date' | 'boolean' | 'enum' | 'string';

export interface AttributeSpec {
  type: AttributeType;
  /** Allowed values of an enum. */
  values?: readonly string[];
  /** Purposes whose consent covers reading it; 'all' for what every notice needs (who and where the resident is). */
  purposes: readonly Purpose[] | 'all';
  description: string;
}

/**
 * The city's wards (区), from its wards file (config/wards.yaml, or WARDS_FILE):
 * configuration, not code. Read once when the rule language is loaded, so a
 * rule naming a ward the city does not have is refused at validation.
 */
export const WARDS: readonly string[] = loadWards().map((ward) => ward.id);
export const INSURANCE_TYPES = ['national-health', 'employee', 'late-elderly', 'public-assistance', 'none'] as const;
// The register's statuses are the store's vocabulary (store/vocabulary.ts): one list for the rules, the table and the import.
export { RESIDENCE_STATUSES } from '../../store/vocabulary';

/** Attributes of the resident a rule is about. */
export const RESIDENT_ATTRIBUTES = {
  age: { type: 'integer', purposes: 'all', description: 'age in whole years on the evaluation date (Asia/Tokyo calendar)' },
  birth_date: { type: 'date', purposes: 'all', description: 'date of birth' },
  ward: { type: 'enum', values: WARDS, purposes: 'all', description: 'ward (区) of the registered address' },
  residence_status: { type: 'enum', values: RESIDENCE_STATUSES, purposes: 'all', description: 'status in the resident register' },
  household_size: {
    type: 'integer',
    purposes: ['child-benefits', 'child-health', 'school-support', 'health-insurance', 'relocation', 'bereavement'],
    description: 'number of registered members of the household, the resident included',
  },
  income_bracket: {
    type: 'integer',
    purposes: ['child-benefits', 'school-support', 'health-insurance'],
    description: 'household income bracket from the municipal tax assessment, 1 (lowest) to 8',
  },
  insurance_type: {
    type: 'enum',
    values: INSURANCE_TYPES,
    purposes: ['health-insurance', 'elderly-care', 'late-elderly-medical'],
    description: 'public health insurance the resident is covered by',
  },
  disability_certificate: {
    type: 'boolean',
    purposes: ['elderly-care', 'late-elderly-medical', 'health-insurance'],
    description: 'holds a physical, intellectual or mental disability certificate',
  },
  moved_in_on: {
    type: 'date',
    purposes: ['relocation', 'child-benefits', 'school-support'],
    description: 'date the resident moved into the city (empty if born here)',
  },
} as const satisfies Record<string, AttributeSpec>;
export type ResidentAttribute = keyof typeof RESIDENT_ATTRIBUTES;

/** Attributes of each household member, readable inside `count: { members: … }` and by anniversary triggers. */
export const MEMBER_ATTRIBUTES = {
  age: {
    type: 'integer',
    purposes: ['child-benefits', 'child-health', 'school-support', 'bereavement'],
    description: "member's age in whole years on the evaluation date",
  },
  birth_date: { type: 'date', purposes: ['child-benefits', 'child-health', 'school-support', 'bereavement'], description: "member's date of birth" },
} as const satisfies Record<string, AttributeSpec>;
export type MemberAttribute = keyof typeof MEMBER_ATTRIBUTES;

/**
 * What an event tells the register (engine/intake/life-event-register.ts): fields the event may carry
 * for the register's sake only. No rule can read them (they are not `event.<field>` attributes), and
 * problems never quote them.
 */
export interface RegisterFieldSpec {
  type: 'string';
  /** Resident ids: the register's id form (letters, digits and . _ -). */
  id?: true;
  description: string;
}

/**
 * Life events, with the payload fields each carries (readable as `event.<field>`). `event.date` is always there.
 * `register`: further fields the event may carry for the register only (not readable by rules).
 */
export const LIFE_EVENTS = {
  birth: {
    description: '出生届: a child was born to the resident',
    payload: {},
    register: {
      child_id: { type: 'string', id: true, description: "the child's resident id: with it, the child is added to the household, the resident as guardian" },
      child_family_name: { type: 'string', description: "the child's family name (default: the resident's)" },
      child_given_name: { type: 'string', description: "the child's given name (required with child_id)" },
      child_family_name_kana: { type: 'string', description: "the child's family name in kana" },
      child_given_name_kana: { type: 'string', description: "the child's given name in kana" },
    },
  },
  'moved-in': {
    description: '転入届: the resident moved into the city',
    payload: { from_prefecture: { type: 'string', purposes: 'all', description: 'prefecture moved from' } },
  },
  'moved-out': { description: '転出届: the resident is moving out', payload: {} },
  'death-in-household': {
    description: '死亡届: a member of the household died',
    payload: {
      relationship: {
        type: 'enum',
        values: ['spouse', 'parent', 'child', 'sibling', 'other'],
        purposes: 'all',
        description: 'who died, seen from the resident',
      },
    },
    register: {
      deceased_resident_id: {
        type: 'string',
        id: true,
        description: "the resident id of who died, a member of the resident's household: their status becomes deceased",
      },
    },
  },
  marriage: { description: '婚姻届: the resident married', payload: {} },
  'job-loss': {
    description: '離職: the resident left employment (from the employment office)',
    payload: { previous_insurance: { type: 'enum', values: INSURANCE_TYPES, purposes: 'all', description: 'insurance before leaving the job' } },
  },
} as const satisfies Record<string, { description: string; payload: Record<string, AttributeSpec>; register?: Record<string, RegisterFieldSpec> }>;
export type LifeEventType = keyof typeof LIFE_EVENTS;
export const LIFE_EVENT_TYPES = Object.keys(LIFE_EVENTS) as [LifeEventType, ...LifeEventType[]];

export function covers(spec: AttributeSpec, purpose: string): boolean {
  return spec.purposes === 'all' || (spec.purposes as readonly string[]).includes(purpose);
}

/** The attribute a path names in the context of a rule: resident attribute, `event.<field>` or a member attribute. */
export function lookupAttribute(path: string, scope: 'resident' | 'member', eventType: LifeEventType | null): AttributeSpec | null {
  if (scope === 'member') return (MEMBER_ATTRIBUTES as Record<string, AttributeSpec>)[path] ?? null;
  if (path.startsWith('event.')) {
    if (!eventType) return null;
    const field = path.slice('event.'.length);
    if (field === 'date') return { type: 'date', purposes: 'all', description: 'date of the event' };
    return (LIFE_EVENTS[eventType].payload as Record<string, AttributeSpec>)[field] ?? null;
  }
  return (RESIDENT_ATTRIBUTES as Record<string, AttributeSpec>)[path] ?? null;
}
