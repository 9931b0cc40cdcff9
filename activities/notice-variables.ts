import type { ActivityDeps } from './activity-deps';
import type { Resident } from '../db/schema';
import type { Rule } from '../rule-language/rule-schema';
import type { NoticeVariables } from '../notices/render-notice';
import { addDays, formatNoticeDate, todayInTokyo } from '../notices/format-dates';

/** Builds a notice's variables from the database rows; runs inside an activity only. */
export function noticeVariables(deps: ActivityDeps, rule: Rule, resident: Resident, outreachId: string, triggerDate: string): NoticeVariables {
  const locale = resident.locale;
  const name = locale === 'en' ? `${resident.given_name} ${resident.family_name}` : `${resident.family_name} ${resident.given_name}`;
  const honorificName = locale === 'en' ? name : `${name} 様`;
  const link = (kind: 'acknowledged' | 'applied' | 'not-for-me' | 'stop') => deps.links.url({ outreachId, kind });
  const vars: NoticeVariables = {
    resident: { name, honorificName },
    city: {
      name: locale === 'en' ? deps.config.cityName.en : deps.config.cityName.ja,
      office: locale === 'en' ? deps.office.department.en : deps.office.department.ja,
      phone: deps.office.phone,
    },
    notice: { title: rule.title[locale] },
    trigger: { date: formatNoticeDate(triggerDate, locale) },
    links: {
      open: deps.links.openUrl(outreachId),
      apply: link('applied'),
      acknowledge: link('acknowledged'),
      notForMe: link('not-for-me'),
      stop: link('stop'),
    },
    param: deps.parameters.nestedValuesOn(todayInTokyo()),
  };
  if ('event' in rule.trigger) vars.event = { date: formatNoticeDate(triggerDate, locale) };
  if (rule.deadline) vars.deadline = { date: formatNoticeDate(addDays(triggerDate, rule.deadline.days), locale) };
  return vars;
}
