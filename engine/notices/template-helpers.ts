import type Handlebars from 'handlebars';
import type { Locale } from '../../store/schema';
import { formatWarekiDate } from './format-dates';
import { isIsoDate } from '../../foundation/tokyo-calendar';

/** What a helper argument must be; validation compares it with the kind of the variable passed. */
export type ArgumentKind = 'isoDate' | 'number' | 'text';

export interface NoticeHelper {
  /** One argument each: the raw value to format. */
  argument: ArgumentKind;
  /** For validation messages and `templates check`. */
  usage: string;
  format(value: unknown, locale: Locale): string;
}

/** A helper was given something it cannot format: the notice is not sent rather than sent wrong. */
export class HelperArgumentError extends Error {}

/** '山田 太郎 様' in Japanese notices; English has no honorific that fits every resident, so the plain name. */
export function honorificName(name: string, locale: Locale): string {
  return locale === 'en' ? name : `${name} 様`;
}

/** Yen amounts as each language writes them: '12,000円' in Japanese, '¥12,000' in English. */
export function formatYen(amount: number, locale: Locale): string {
  const digits = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 }).format(Math.abs(amount));
  const sign = amount < 0 ? '-' : '';
  return locale === 'en' ? `${sign}¥${digits}` : `${sign}${digits}円`;
}

/**
 * The helpers templates may call, on raw values (`{{warekiDate deadline.iso}}`,
 * `{{yen param.x}}`, `{{honorific resident.name}}`). They are registered on the
 * renderer's own Handlebars instance only, and validation knows each by name.
 */
export const NOTICE_HELPERS = {
  warekiDate: {
    argument: 'isoDate',
    usage: '{{warekiDate trigger.iso}} → 令和8年11月26日',
    format(value, locale) {
      if (!isIsoDate(value)) throw new HelperArgumentError(`warekiDate needs an ISO date (YYYY-MM-DD, e.g. trigger.iso), got ${describe(value)}`);
      return formatWarekiDate(value, locale);
    },
  },
  yen: {
    argument: 'number',
    usage: '{{yen param.some_amount}} → 12,000円 / ¥12,000',
    format(value, locale) {
      // Money is never rounded silently: a fraction of a yen is a mistake in the data.
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new HelperArgumentError(`yen needs a whole number of yen, got ${describe(value)}`);
      return formatYen(value, locale);
    },
  },
  honorific: {
    argument: 'text',
    usage: '{{honorific resident.name}} → 山田 太郎 様',
    format(value, locale) {
      if (typeof value !== 'string' || value.trim() === '') throw new HelperArgumentError(`honorific needs a name, got ${describe(value)}`);
      return honorificName(value, locale);
    },
  },
} as const satisfies Record<string, NoticeHelper>;

export type NoticeHelperName = keyof typeof NOTICE_HELPERS;
export const NOTICE_HELPER_NAMES = Object.keys(NOTICE_HELPERS) as NoticeHelperName[];

/** Handlebars' own block helpers that templates may use; every other built-in (lookup, log) is off. */
export const BLOCK_HELPERS = ['if', 'unless', 'each', 'with'] as const;

export function isNoticeHelper(name: string): name is NoticeHelperName {
  return Object.hasOwn(NOTICE_HELPERS, name);
}

/** The locale a part is written in, handed to helpers as Handlebars data (`@locale`). */
export interface NoticeRenderData {
  locale: Locale;
}

/**
 * Registers the notice helpers on one Handlebars instance and removes the
 * built-ins templates must not use: `lookup` reads properties by computed name
 * (validation could not see them) and `log` writes to the worker's console.
 */
export function registerNoticeHelpers(handlebars: typeof Handlebars): void {
  handlebars.unregisterHelper('lookup');
  handlebars.unregisterHelper('log');
  for (const name of NOTICE_HELPER_NAMES) {
    const helper: NoticeHelper = NOTICE_HELPERS[name];
    handlebars.registerHelper(name, (...args: unknown[]) => {
      // Handlebars passes its options object last.
      // Only block calls carry `fn`, whatever the type says.
      const options = args.pop() as Partial<Handlebars.HelperOptions>;
      if (args.length !== 1) throw new HelperArgumentError(`${name} takes exactly one value (${helper.usage}), got ${args.length}`);
      if (options.fn) throw new HelperArgumentError(`${name} is not a block helper: write {{${name} …}}, not {{#${name} …}}`);
      const data = options.data as Partial<NoticeRenderData> | undefined;
      if (!data?.locale) throw new HelperArgumentError(`${name} was called without the notice's locale`);
      return helper.format(args[0], data.locale);
    });
  }
}

/** Compile options that make an unknown helper a compile error, not a lookup. */
export const KNOWN_HELPERS: Record<string, boolean> = {
  ...Object.fromEntries(NOTICE_HELPER_NAMES.map((n) => [n, true])),
  lookup: false,
  log: false,
};

function describe(value: unknown): string {
  if (value === undefined) return 'nothing (is the variable provided?)';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return typeof value;
}
