import type { Locale } from '../../store/schema';

/**
 * Which locale stands in when a template set lacks a part in the resident's
 * locale. やさしい日本語 falls back to ordinary Japanese: a reader of easy
 * Japanese can still read it, with effort, and the city must reach them. No
 * other locale falls back: English readers may not read Japanese, and a
 * Japanese resident must never silently receive English.
 *
 * Validation reports a fallback that will happen as a warning, and the renderer
 * records every fallback it made with the rendered notice.
 */
export const LOCALE_FALLBACK: Readonly<Record<Locale, Locale | null>> = {
  'ja-easy': 'ja',
  ja: null,
  en: null,
};

/** The locales tried for a resident's locale, in order: their own first. */
export function localeChain(locale: Locale): Locale[] {
  const chain: Locale[] = [];
  for (let l: Locale | null = locale; l && !chain.includes(l); l = LOCALE_FALLBACK[l]) chain.push(l);
  return chain;
}

/** A part of a notice rendered from another locale's template than the resident's own. */
export interface LocaleFallback {
  part: string;
  requested: Locale;
  used: Locale;
}

export const LOCALE_NAMES: Readonly<Record<Locale, string>> = {
  ja: '日本語 (ja)',
  en: 'English (en)',
  'ja-easy': 'やさしい日本語 (ja-easy)',
};
