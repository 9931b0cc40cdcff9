/**
 * The pages a resident sees after following a response link, in the
 * resident's language. Pure functions from ids and enums to HTML: no personal
 * data goes in (a link may be forwarded), and everything interpolated is escaped.
 */
import { createHash } from 'node:crypto';
import type { Locale, ResponseKind } from '../store/schema';
import { RESPONSE_KINDS } from '../store/schema';

export interface PageFrame {
  locale: Locale;
  /** The city's name in the page's language. */
  cityName: string;
  office: { department: string; phone: string };
}

interface Texts {
  kind: Record<ResponseKind, string>;
  answerButton(label: string): string;
  confirmLead: string;
  yourAnswer: string;
  otherAnswers: string;
  nothingRecorded: string;
  stopNote: string;
  thanksHeading: string;
  thanks: Record<ResponseKind, string>;
  endedHeading: string;
  endedAnswered(label: string): string;
  ended: Record<'no-response' | 'consent-withdrawn' | 'rule-withdrawn' | 'other', string>;
  badAnswerHeading: string;
  badAnswer: string;
  contact: string;
  /** A merged notice: the other notices it carried, each answered on its own page. */
  alsoHeading: string;
  consentHeading: string;
  consentGranted(purpose: string, date: string | null): string;
  consentChange: string;
}

const TEXTS: Record<Locale, Texts> = {
  ja: {
    kind: { acknowledged: '確認しました', applied: '申請しました', 'not-for-me': '私には当てはまりません', stop: '今後このお知らせを受け取らない' },
    answerButton: (label) => `「${label}」と回答する`,
    confirmLead: 'このお知らせに、次のとおり回答します。',
    yourAnswer: 'あなたの回答',
    otherAnswers: 'ほかの回答を選ぶ',
    nothingRecorded: 'ボタンを押すまで、回答は記録されません。',
    stopNote: '「今後このお知らせを受け取らない」を選ぶと、この目的での情報の利用への同意を取り消します。',
    thanksHeading: 'ご回答ありがとうございました',
    thanks: {
      acknowledged: '「確認しました」と記録しました。このお知らせの送付はこれで終わります。',
      applied: '「申請しました」と記録しました。このお知らせの送付はこれで終わります。',
      'not-for-me': '「当てはまらない」と記録しました。このお知らせの送付はこれで終わります。',
      stop: '今後、この種類のお知らせはお送りしません。この目的での情報の利用への同意を取り消します。',
    },
    endedHeading: 'このお知らせは終了しています',
    endedAnswered: (label) => `このお知らせには、すでに回答をいただいています（回答：「${label}」）。`,
    ended: {
      'no-response': '回答の受付期間は終わりました。手続きについては、下記までお問い合わせください。',
      'consent-withdrawn': '情報の利用への同意が取り消されたため、このお知らせは終了しました。',
      'rule-withdrawn': '市がこのお知らせを取り下げたため、終了しました。',
      other: 'このお知らせは終了しました。',
    },
    badAnswerHeading: 'この回答は受け付けられません',
    badAnswer: '前のページに戻り、ボタンから回答を選んでください。',
    contact: 'お問い合わせ',
    alsoHeading: 'このお知らせと一緒にお送りしたお知らせ（それぞれ回答できます）',
    consentHeading: 'このお知らせのもとになっている同意',
    consentGranted: (purpose, date) => `「${purpose}」のための情報の利用に${date ? `${date}に` : ''}同意いただいています。`,
    consentChange: '同意を取り消すには、「今後このお知らせを受け取らない」と回答してください。ほかの目的の同意は変わりません。',
  },
  en: {
    kind: { acknowledged: 'I have read this', applied: 'I have applied', 'not-for-me': 'This does not apply to me', stop: 'Stop these notices' },
    answerButton: (label) => `Answer: ${label}`,
    confirmLead: 'You are about to send this answer to the notice.',
    yourAnswer: 'Your answer',
    otherAnswers: 'Or choose another answer',
    nothingRecorded: 'Nothing is recorded until you press a button.',
    stopNote: 'Choosing “Stop these notices” withdraws your consent to the use of your information for this purpose.',
    thanksHeading: 'Thank you for your answer',
    thanks: {
      acknowledged: 'We recorded “I have read this”. You will receive no more reminders about this notice.',
      applied: 'We recorded “I have applied”. You will receive no more reminders about this notice.',
      'not-for-me': 'We recorded that this does not apply to you. You will receive no more reminders about this notice.',
      stop: 'We will send you no more notices of this kind, and your consent to the use of your information for this purpose is withdrawn.',
    },
    endedHeading: 'This notice has already ended',
    endedAnswered: (label) => `We already have an answer to this notice: “${label}”.`,
    ended: {
      'no-response': 'The time to answer this notice has passed. Please contact the office below about the procedure.',
      'consent-withdrawn': 'This notice ended because consent to the use of your information for this purpose was withdrawn.',
      'rule-withdrawn': 'This notice ended because the city withdrew it.',
      other: 'This notice has ended.',
    },
    badAnswerHeading: 'This answer cannot be accepted',
    badAnswer: 'Please go back and choose an answer with one of the buttons.',
    contact: 'Contact',
    alsoHeading: 'Sent to you together with this notice (answer each one on its own)',
    consentHeading: 'The consent this notice is based on',
    consentGranted: (purpose, date) => `You consented${date ? ` on ${date}` : ''} to the use of your information for: ${purpose}.`,
    consentChange: 'To withdraw it, answer “Stop these notices”. Your consent for other purposes does not change.',
  },
  'ja-easy': {
    kind: { acknowledged: 'よみました', applied: 'もうしこみました', 'not-for-me': 'わたしには かんけい ありません', stop: 'この おしらせは もう いりません' },
    answerButton: (label) => `「${label}」と こたえる`,
    confirmLead: 'この おしらせに こたえます。',
    yourAnswer: 'あなたの こたえ',
    otherAnswers: 'ほかの こたえを えらぶ',
    nothingRecorded: 'ボタンを おすまで、なにも きろく しません。',
    stopNote: '「この おしらせは もう いりません」を えらぶと、この しゅるいの おしらせは もう きません。',
    thanksHeading: 'ありがとう ございました',
    thanks: {
      acknowledged: '「よみました」と きろく しました。この おしらせは もう きません。',
      applied: '「もうしこみました」と きろく しました。この おしらせは もう きません。',
      'not-for-me': '「かんけい ありません」と きろく しました。この おしらせは もう きません。',
      stop: 'この しゅるいの おしらせは もう おくりません。',
    },
    endedHeading: 'この おしらせは もう おわりました',
    endedAnswered: (label) => `もう こたえを もらって います（こたえ：「${label}」）。`,
    ended: {
      'no-response': 'こたえる きかんが おわりました。わからない ことは、したの まどぐちに きいて ください。',
      'consent-withdrawn': 'あなたの じょうほうを つかう ことを やめたので、この おしらせは おわりました。',
      'rule-withdrawn': 'しやくしょが この おしらせを やめました。',
      other: 'この おしらせは おわりました。',
    },
    badAnswerHeading: 'この こたえは うけつけ できません',
    badAnswer: 'まえの ページに もどって、ボタンで こたえを えらんで ください。',
    contact: 'といあわせ',
    alsoHeading: 'いっしょに おくった おしらせ（ひとつずつ こたえて ください）',
    consentHeading: 'この おしらせの もとに なった 同意',
    consentGranted: (purpose, date) => `あなたは${date ? ` ${date}に` : ''}「${purpose}」のために 情報を 使って よいと 言いました。`,
    consentChange: 'やめたい ときは、「この おしらせは もう いりません」を えらんで ください。',
  },
};

const STYLE = [
  'body{font-family:system-ui,"Hiragino Sans","Noto Sans JP",sans-serif;line-height:1.7;margin:0;color:#1a1a1a;background:#fff}',
  'main,.wrap{max-width:36rem;margin:0 auto;padding:1.5rem 1rem}',
  '.city{color:#444;margin:0}',
  'h1{font-size:1.5rem;line-height:1.4}',
  '.answer{font-size:1.25rem}',
  'button{font:inherit;display:block;width:100%;min-height:3rem;margin:.75rem 0;padding:.5rem 1rem;border-radius:.5rem;cursor:pointer}',
  '.primary{background:#0b5394;color:#fff;border:2px solid #0b5394;font-weight:bold}',
  '.secondary{background:#fff;color:#0b5394;border:2px solid #0b5394}',
  'button:focus-visible{outline:3px solid #b35c00;outline-offset:2px}',
  'fieldset{border:0;padding:0;margin:1.5rem 0 0}',
  'legend{font-weight:bold}',
  'footer{border-top:1px solid #ccc;color:#444}',
  'section+section{border-top:1px solid #ccc;margin-top:1.5rem}',
  'input{font:inherit;font-size:1.5rem;letter-spacing:.1em;text-transform:uppercase;width:100%;box-sizing:border-box;padding:.5rem;border:2px solid #444;border-radius:.5rem}',
  'label{font-weight:bold;display:block}',
  '.problem{color:#a00000;font-weight:bold}',
].join('');

/**
 * No scripts, no images, no framing, forms only back to this server; the one
 * inline style block is allowed by its hash rather than 'unsafe-inline'.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function layout(lang: string, pageTitle: string, main: string, footer = ''): string {
  return [
    '<!doctype html>',
    `<html lang="${escapeHtml(lang)}">`,
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="robots" content="noindex, nofollow">',
    `<title>${escapeHtml(pageTitle)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<main>${main}</main>`,
    footer,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The parts every resident page shares: the city above, the office to call below. */
function frameParts(frame: PageFrame, heading: string, noticeTitle: string) {
  const t = TEXTS[frame.locale];
  const header = `<p class="city">${escapeHtml(frame.cityName)}</p>\n<p>${escapeHtml(noticeTitle)}</p>`;
  const footer =
    `<footer><div class="wrap"><p>${escapeHtml(t.contact)}: ${escapeHtml(frame.cityName)} ${escapeHtml(frame.office.department)}` +
    ` <a href="tel:${escapeHtml(frame.office.phone.replace(/[^0-9+]/g, ''))}">${escapeHtml(frame.office.phone)}</a></p></div></footer>`;
  return { t, header, footer, pageTitle: `${heading} | ${frame.cityName}` };
}

/**
 * What a link opens: the notice title, the answer the link stands for with one
 * primary button to send it, and the other answers as secondary buttons.
 * The form has no action, so it posts back to the very URL (token included).
 */
export function renderConfirmPage(
  frame: PageFrame,
  noticeTitle: string,
  kind: ResponseKind,
  alsoSent: readonly AlsoSentNotice[] = [],
  consent: ConsentShown | null = null,
): string {
  const { t, footer, pageTitle } = frameParts(frame, noticeTitle, noticeTitle);
  const button = (k: ResponseKind, cls: string) =>
    `<button type="submit" name="kind" value="${escapeHtml(k)}" class="${cls}"${k === 'stop' ? ' aria-describedby="stop-note"' : ''}>` +
    `${escapeHtml(t.answerButton(t.kind[k]))}</button>`;
  const others = RESPONSE_KINDS.filter((k) => k !== kind);
  const main = [
    `<p class="city">${escapeHtml(frame.cityName)}</p>`,
    `<h1>${escapeHtml(noticeTitle)}</h1>`,
    `<p>${escapeHtml(t.confirmLead)}</p>`,
    '<form method="post">',
    `<p>${escapeHtml(t.yourAnswer)}: <strong class="answer">${escapeHtml(t.kind[kind])}</strong></p>`,
    button(kind, 'primary'),
    `<p>${escapeHtml(t.nothingRecorded)}</p>`,
    `<fieldset><legend>${escapeHtml(t.otherAnswers)}</legend>`,
    ...others.map((k) => button(k, 'secondary')),
    '</fieldset>',
    '</form>',
    `<p id="stop-note">${escapeHtml(t.stopNote)}</p>`,
    ...consentSection(t, consent),
    ...alsoSentSection(t, alsoSent),
  ].join('\n');
  return layout(frame.locale, pageTitle, main, footer);
}

/** The consent a notice is based on, as its page shows it: the purpose's name and the day it was given (both in the page's language). */
export interface ConsentShown {
  purpose: string;
  grantedOn: string | null;
}

/** Where the why-section of every notice points: the consent this notice used, and how to withdraw it. */
function consentSection(t: Texts, consent: ConsentShown | null): string[] {
  if (!consent) return [];
  return [
    '<section aria-labelledby="consent">',
    `<h2 id="consent">${escapeHtml(t.consentHeading)}</h2>`,
    `<p>${escapeHtml(t.consentGranted(consent.purpose, consent.grantedOn))}</p>`,
    `<p>${escapeHtml(t.consentChange)}</p>`,
    '</section>',
  ];
}

/** Another notice a merged push carried: its title and its own answer page (a path on this site). */
export interface AlsoSentNotice {
  title: string;
  path: string;
}

function alsoSentSection(t: Texts, alsoSent: readonly AlsoSentNotice[]): string[] {
  if (alsoSent.length === 0) return [];
  return [
    '<section aria-labelledby="also-sent">',
    `<h2 id="also-sent">${escapeHtml(t.alsoHeading)}</h2>`,
    '<ul>',
    ...alsoSent.map((n) => `<li><a href="${escapeHtml(n.path)}">${escapeHtml(n.title)}</a></li>`),
    '</ul>',
    '</section>',
  ];
}

export function renderThanksPage(frame: PageFrame, noticeTitle: string, kind: ResponseKind): string {
  const { t, header, footer, pageTitle } = frameParts(frame, TEXTS[frame.locale].thanksHeading, noticeTitle);
  const main = `${header}\n<h1>${escapeHtml(t.thanksHeading)}</h1>\n<p>${escapeHtml(t.thanks[kind])}</p>`;
  return layout(frame.locale, pageTitle, main, footer);
}

/** The outreach ended before this answer: say how (answered, closed, consent or rule withdrawn). */
export function renderEndedPage(
  frame: PageFrame,
  noticeTitle: string,
  state: string,
  response: ResponseKind | null,
  alsoSent: readonly AlsoSentNotice[] = [],
): string {
  const { t, header, footer, pageTitle } = frameParts(frame, TEXTS[frame.locale].endedHeading, noticeTitle);
  const how =
    response !== null
      ? t.endedAnswered(t.kind[response])
      : state === 'no-response' || state === 'consent-withdrawn' || state === 'rule-withdrawn'
        ? t.ended[state]
        : t.ended.other;
  const main = [`${header}\n<h1>${escapeHtml(t.endedHeading)}</h1>\n<p>${escapeHtml(how)}</p>`, ...alsoSentSection(t, alsoSent)].join('\n');
  return layout(frame.locale, pageTitle, main, footer);
}

export function renderBadAnswerPage(frame: PageFrame, noticeTitle: string): string {
  const { t, header, footer, pageTitle } = frameParts(frame, TEXTS[frame.locale].badAnswerHeading, noticeTitle);
  const main = `${header}\n<h1>${escapeHtml(t.badAnswerHeading)}</h1>\n<p>${escapeHtml(t.badAnswer)}</p>`;
  return layout(frame.locale, pageTitle, main, footer);
}

/** Pages shown before the resident (and so the language) is known: every language, Japanese first. */
function renderMultilingualPage(cityName: { ja: string; en: string }, texts: Record<Locale, { heading: string; body: string }>): string {
  const section = (locale: Locale, city: string) =>
    `<section lang="${locale}"><p class="city">${escapeHtml(city)}</p><h${locale === 'ja' ? 1 : 2}>${escapeHtml(texts[locale].heading)}</h${locale === 'ja' ? 1 : 2}>` +
    `<p>${escapeHtml(texts[locale].body)}</p></section>`;
  const main = [section('ja', cityName.ja), section('en', cityName.en), section('ja-easy', cityName.ja)].join('\n');
  return layout('ja', `${texts.ja.heading} | ${cityName.ja}`, main);
}

export function renderNotFoundPage(cityName: { ja: string; en: string }): string {
  return renderMultilingualPage(cityName, {
    ja: {
      heading: 'このリンクは使えません',
      body: 'リンクが正しくないか、途中で切れている可能性があります。お知らせのメールや通知から、もう一度開いてください。',
    },
    en: { heading: 'This link is not valid', body: 'The link may be mistyped or cut short. Please open it again from the email or notification you received.' },
    'ja-easy': { heading: 'この リンクは つかえません', body: 'メールや つうちの リンクから、もう いちど ひらいて ください。' },
  });
}

/** A response link past its outreach's end and grace: says nothing of the notice it belonged to. */
export function renderExpiredPage(cityName: { ja: string; en: string }): string {
  return renderMultilingualPage(cityName, {
    ja: { heading: 'このリンクは有効期限が過ぎています', body: 'このお知らせへの回答の受付は終了しました。ご用件は窓口または電話でお問い合わせください。' },
    en: { heading: 'This link has expired', body: 'Answers to this notice are no longer taken here. Please contact the office by phone or at the counter.' },
    'ja-easy': { heading: 'この リンクは もう つかえません', body: 'ようじが ある ときは、まどぐちか でんわで きいて ください。' },
  });
}

export function renderErrorPage(cityName: { ja: string; en: string }): string {
  return renderMultilingualPage(cityName, {
    ja: { heading: 'ただいま処理できません', body: '時間をおいて、もう一度お試しください。回答はまだ記録されていない可能性があります。' },
    en: { heading: 'We cannot process this right now', body: 'Please try again later. Your answer may not have been recorded yet.' },
    'ja-easy': { heading: 'いま できません', body: 'すこし まってから、もう いちど ためして ください。' },
  });
}

/** Why a typed letter code was not taken: its check symbol does not match (a typing slip), or no letter has it. */
export type LetterCodeProblem = 'check' | 'shape' | 'unknown';

const CODE_TEXTS: Record<Locale, { heading: string; lead: string; label: string; submit: string; problem: Record<LetterCodeProblem, string> }> = {
  ja: {
    heading: 'お知らせの回答コードを入力',
    lead: 'お手紙に印刷された回答コード（例：4K7-P9M-Q2X）を入力してください。ハイフンや大文字・小文字は区別しません。',
    label: '回答コード',
    submit: '次へ',
    problem: {
      check: 'この回答コードは正しくありません。どこかの文字が違っている可能性があります。お手紙のコードをもう一度確かめて入力してください。',
      shape: '回答コードは、数字と英字の9文字です（例：4K7-P9M-Q2X）。お手紙のコードをもう一度確かめて入力してください。',
      unknown: 'この回答コードのお知らせは見つかりません。お手紙のコードを確かめるか、窓口または電話でお問い合わせください。',
    },
  },
  en: {
    heading: 'Enter the answer code of your letter',
    lead: 'Type the answer code printed on your letter (for example 4K7-P9M-Q2X). Hyphens and upper or lower case do not matter.',
    label: 'Answer code',
    submit: 'Continue',
    problem: {
      check: 'This answer code is not correct: a character seems to be mistyped. Please check the code on your letter and type it again.',
      shape: 'An answer code has 9 letters and digits (for example 4K7-P9M-Q2X). Please check the code on your letter and type it again.',
      unknown: 'No notice has this answer code. Please check the code on your letter, or contact the office by phone or at the counter.',
    },
  },
  'ja-easy': {
    heading: 'てがみの コードを いれて ください',
    lead: 'てがみに ある コード（れい：4K7-P9M-Q2X）を いれて ください。',
    label: 'コード',
    submit: 'つぎへ',
    problem: {
      check: 'この コードは ちがいます。てがみの コードを よく みて、もう いちど いれて ください。',
      shape: 'コードは 9もじです（れい：4K7-P9M-Q2X）。てがみの コードを よく みて、もう いちど いれて ください。',
      unknown: 'この コードの おしらせは ありません。まどぐちか でんわで きいて ください。',
    },
  },
};

/**
 * The page behind the short address on letters (`/r`): a field for the
 * letter's answer code, and why a code typed before was not taken. It asks
 * with GET (`/r?code=…`), which only leads to the code's page and changes nothing.
 * The language is not known yet, so every language is on the page.
 */
export function renderLetterCodePage(cityName: { ja: string; en: string }, problem?: LetterCodeProblem): string {
  const section = (locale: Locale, city: string) => {
    const t = CODE_TEXTS[locale];
    const h = locale === 'ja' ? 'h1' : 'h2';
    const id = `code-${locale}`;
    return [
      `<section lang="${locale}"><p class="city">${escapeHtml(city)}</p><${h}>${escapeHtml(t.heading)}</${h}>`,
      problem ? `<p class="problem" role="alert">${escapeHtml(t.problem[problem])}</p>` : '',
      `<p>${escapeHtml(t.lead)}</p>`,
      `<form method="get" action="/r"><label for="${id}">${escapeHtml(t.label)}</label>`,
      `<input id="${id}" name="code" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="40" required>`,
      `<button type="submit" class="primary">${escapeHtml(t.submit)}</button></form></section>`,
    ].join('\n');
  };
  const main = [section('ja', cityName.ja), section('en', cityName.en), section('ja-easy', cityName.ja)].join('\n');
  return layout('ja', `${CODE_TEXTS.ja.heading} | ${cityName.ja}`, main);
}

/** The texts of the one-click unsubscribe page (List-Unsubscribe, RFC 8058), per language. */
const UNSUBSCRIBE_TEXTS: Record<Locale, { heading: string; lead: string; keeps: string; button: string; doneHeading: string; done: string; already: string }> =
  {
    ja: {
      heading: 'メールでのお知らせを停止する',
      lead: 'ボタンを押すと、市からのお知らせをメールでお送りすることを停止します。ボタンを押すまで、何も変わりません。',
      keeps: '郵便でのお知らせは、これまでどおりお送りします。情報の利用への同意は取り消されません。再開や変更は、窓口でお申し出ください。',
      button: 'メールでのお知らせを停止する',
      doneHeading: 'メールでのお知らせを停止しました',
      done: '今後、お知らせをメールではお送りしません。郵便でのお知らせは、これまでどおりお送りします。',
      already: 'メールでのお知らせは、すでに停止しています。',
    },
    en: {
      heading: 'Stop notices by email',
      lead: 'Press the button to stop receiving the city’s notices by email. Nothing changes until you press it.',
      keeps:
        'Notices by post continue as before, and your consent to the use of your information is not withdrawn. To resume or change this, please contact the office.',
      button: 'Stop notices by email',
      doneHeading: 'Notices by email are stopped',
      done: 'We will no longer send you notices by email. Notices by post continue as before.',
      already: 'Notices by email were already stopped.',
    },
    'ja-easy': {
      heading: 'メールの おしらせを とめる',
      lead: 'ボタンを おすと、メールの おしらせが とまります。ボタンを おすまで、なにも かわりません。',
      keeps: 'ゆうびんの おしらせは、これからも とどきます。もう いちど メールが ほしい ときは、まどぐちに いって ください。',
      button: 'メールの おしらせを とめる',
      doneHeading: 'メールの おしらせを とめました',
      done: 'これから、メールの おしらせは おくりません。ゆうびんの おしらせは とどきます。',
      already: 'メールの おしらせは、もう とまって います。',
    },
  };

/** What the List-Unsubscribe URL shows on GET: what the button does, and the button (a form posting `List-Unsubscribe=One-Click` back to the URL). */
export function renderUnsubscribePage(frame: PageFrame): string {
  const t = UNSUBSCRIBE_TEXTS[frame.locale];
  const { footer, pageTitle } = frameParts(frame, t.heading, t.heading);
  const main = [
    `<p class="city">${escapeHtml(frame.cityName)}</p>`,
    `<h1>${escapeHtml(t.heading)}</h1>`,
    `<p>${escapeHtml(t.lead)}</p>`,
    '<form method="post">',
    '<input type="hidden" name="List-Unsubscribe" value="One-Click">',
    `<button type="submit" class="primary">${escapeHtml(t.button)}</button>`,
    '</form>',
    `<p>${escapeHtml(t.keeps)}</p>`,
  ].join('\n');
  return layout(frame.locale, pageTitle, main, footer);
}

/** After the one-click POST: email stopped (or already stopped), post continues. */
export function renderUnsubscribedPage(frame: PageFrame, alreadyStopped: boolean): string {
  const t = UNSUBSCRIBE_TEXTS[frame.locale];
  const { footer, pageTitle } = frameParts(frame, t.doneHeading, t.doneHeading);
  const main = `<p class="city">${escapeHtml(frame.cityName)}</p>\n<h1>${escapeHtml(t.doneHeading)}</h1>\n<p>${escapeHtml(alreadyStopped ? t.already : t.done)}</p>`;
  return layout(frame.locale, pageTitle, main, footer);
}
