import type { ActivityDeps } from './activity-deps';
import type { Locale, Resident } from '../store/schema';
import type { Rule } from '../engine/rule-language/rule-schema';
import type { NoticeDate, NoticeVariables } from '../engine/notices/render-notice';
import { formatNoticeDate } from '../engine/notices/format-dates';
import { addDays } from '../foundation/tokyo-calendar';
import { honorificName } from '../engine/notices/template-helpers';
import type { NoticeLinks } from '../engine/outreach/response-links';
import { configuredOffices } from '../config/offices';
import { whyYouGotThis, type WhyAudience, type WhyInput } from '../engine/rule-language/why-you-got-this';
import type { ParameterSet } from '../engine/rule-language/parameters';
import type { Purpose } from '../engine/rule-language/attribute-catalog';

/**
 * What building the variables reads: the activity deps, or the same parts of an engine context
 * (`templates preview`). `offices`: default the configured ones (config/offices.ts).
 */
export type NoticeVariableSources = Pick<ActivityDeps, 'config'> & Partial<Pick<ActivityDeps, 'offices'>> & { parameters: ParameterSet };

export interface NoticeVariableOptions {
  /** The day whose parameter values apply (default the trigger date, as the rule's conditions read them). */
  on?: string;
  /**
   * For rules triggered by a household member's date (anniversary): the member the outreach is about
   * (outreach.member_id), named in the notice as `member.givenName`. Without it (a rendering test), ''.
   */
  member?: Pick<Resident, 'given_name'> | null;
  /**
   * What the why-section tells: the match's explanation and the consent (the send has them); without it, the
   * scheme, the trigger and the purpose only (a preview, a rendering test). `audience` 'shared' for a push.
   */
  why?: { explanation: WhyInput['explanation']; consentGrantedOn: string | null; audience: WhyAudience; proxy?: WhyInput['proxy'] };
}

/**
 * Builds a notice's variables from the database rows; runs inside an activity
 * (or a preview) only. The links are issued beforehand, in their own step
 * (`links.forNotice(outreachId, channel)`, which stores their hashes, or
 * `links.preview(channel)`), so building the variables stays a pure function.
 */
export function noticeVariables(
  deps: NoticeVariableSources,
  rule: Rule,
  resident: Pick<Resident, 'family_name' | 'given_name' | 'locale'>,
  links: NoticeLinks,
  triggerDate: string,
  options: NoticeVariableOptions = {},
): NoticeVariables {
  const locale = resident.locale;
  const name = personName(resident, locale);
  // The rule's own office; a version stored before rules named one gets the default office.
  const office = (deps.offices ?? configuredOffices()).forRule(rule);
  const vars: NoticeVariables = {
    resident: { name, honorificName: honorificName(name, locale) },
    city: {
      name: locale === 'en' ? deps.config.cityName.en : deps.config.cityName.ja,
      office: office.name[locale],
      phone: office.phone,
    },
    office: {
      name: office.name[locale],
      phone: office.phone,
      postalCode: office.postalCode,
      address: office.address,
      hours: office.hours[locale],
      email: office.email ?? '',
      web: office.web ?? '',
    },
    // Without an application (and in versions stored before rules named one) the notice's own page, as before.
    application: { url: rule.application?.url ?? links.open, name: rule.application?.name[locale] ?? '' },
    notice: { title: rule.title[locale] },
    why: whyYouGotThis(
      {
        title: rule.title,
        trigger: rule.trigger,
        triggerDate,
        explanation: options.why?.explanation ?? null,
        consent: { purpose: rule.purpose as Purpose, grantedOn: options.why?.consentGrantedOn ?? null },
        proxy: options.why?.proxy,
        // The notice's own page shows the consent and takes its withdrawal ("stop these notices"); a push's
        // shared form and a late notice carry no address (the push opens that page itself).
        consentUrl: options.why?.audience === 'private' ? links.open : undefined,
      },
      locale,
      options.why?.audience ?? 'private',
    ),
    trigger: noticeDate(triggerDate, locale),
    links: { ...links },
    param: deps.parameters.nestedValuesOn(options.on ?? triggerDate),
  };
  if ('event' in rule.trigger) vars.event = noticeDate(triggerDate, locale);
  if ('anniversary' in rule.trigger) vars.member = { givenName: options.member?.given_name ?? '' };
  if (rule.deadline) vars.deadline = noticeDate(addDays(triggerDate, rule.deadline.days), locale);
  return vars;
}

/** A person's name as a notice in this language writes it: given name first in English, family name first in Japanese. */
export function personName(person: Pick<Resident, 'family_name' | 'given_name'>, locale: Locale): string {
  return locale === 'en' ? `${person.given_name} ${person.family_name}` : `${person.family_name} ${person.given_name}`;
}

function noticeDate(iso: string, locale: Locale): NoticeDate {
  return { date: formatNoticeDate(iso, locale), iso };
}
