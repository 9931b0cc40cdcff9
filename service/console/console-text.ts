/**
 * The console's words, Japanese first and English: one table per language, so a page never mixes them
 * and a missing translation is a type error. Labels of the engine's enums (task kinds, statuses,
 * channels) live here too: the console never shows a raw enum where a person reads it.
 */
import type { Channel, OutreachRowStatus, ResponseKind, TaskKind } from '../../store/schema';
import type { ConsentAction, ConsentChannel, RelationshipKind, TaskOutcome } from '../../store/vocabulary';
import type { StaffRole } from '../../config/staff-roles';

export const CONSOLE_LANGUAGES = ['ja', 'en'] as const;
export type ConsoleLanguage = (typeof CONSOLE_LANGUAGES)[number];

export interface ConsoleText {
  htmlLang: string;
  consoleName: string;
  skipToContent: string;
  mainNav: string;
  nav: { home: string; tasks: string; rules: string; takeUp: string };
  language: string;
  otherLanguage: { lang: ConsoleLanguage; label: string };
  signOut: string;
  signedInAs: string;
  home: {
    heading: string;
    roles: string;
    wards: string;
    noWards: string;
    allWards: string;
    whatYouCanUse: string;
    nothing: string;
    escalated: string;
    escalatedWaiting: (n: number) => string;
  };
  taskLinkText: string;
  rulesLinkText: string;
  takeUpLinkText: string;
  takeUp: {
    heading: string;
    intro: string;
    period: string;
    from: string;
    to: string;
    monthHint: string;
    rule: string;
    any: string;
    show: string;
    csv: string;
    problems: string;
    none: string;
    caption: (title: string) => string;
    month: string;
    ward: string;
    firstChannel: string;
    matched: string;
    notified: string;
    answered: string;
    applied: string;
    granted: string;
    median: string;
    total: string;
    noChannel: string;
    days: (n: number) => string;
  };
  tasks: {
    heading: string;
    filters: string;
    status: string;
    statusAll: string;
    kind: string;
    rule: string;
    any: string;
    apply: string;
    count: (n: number) => string;
    none: string;
    caption: string;
    id: string;
    resident: string;
    schemes: string;
    ward: string;
    created: string;
    due: string;
    assignee: string;
    notAssigned: string;
    state: string;
    open: string;
    closed: string;
    closedBy: (who: string, at: string) => string;
    taskHeading: (id: number) => string;
    close: string;
    note: string;
    noteHint: string;
    closeButton: string;
    outcome: string;
    chooseOutcome: string;
    holder: string;
    mine: string;
    assignedToYou: string;
    unassignedOnly: string;
    overdueOnly: string;
    overdue: string;
    escalated: string;
    claim: string;
    claimedNotice: string;
    takenNotice: (who: string) => string;
    notes: string;
    noNotes: string;
    addNote: string;
    noteText: string;
    addNoteButton: string;
    notedNotice: string;
    noteEmpty: string;
    noteBy: (who: string, at: string) => string;
    closedNotice: (id: number) => string;
    alreadyClosed: string;
    timeline: string;
    backToQueue: string;
    escalatedOnly: string;
    escalatedHeading: string;
    escalatedIntro: string;
    escalatedCaption: string;
    noEscalated: string;
    queueHeading: string;
    escalation: string;
    escalatedBecause: (at: string, due: string) => string;
    heldThen: (who: string) => string;
    assign: string;
    assignTo: string;
    assignHint: string;
    assignButton: string;
    chooseColleague: string;
    noColleagues: string;
    colleague: (name: string, roles: string[]) => string;
    assignedNotice: (who: string) => string;
    notAColleague: (who: string, ward: string) => string;
  };
  resident: {
    heading: (id: string) => string;
    profile: string;
    name: string;
    ward: string;
    residence: string;
    locale: string;
    channels: string;
    channelsAll: string;
    quietHours: string;
    quietDefault: string;
    events: string;
    eventType: string;
    occurred: string;
    received: string;
    outreach: string;
    outreachCaption: (rule: string) => string;
    rule: string;
    version: string;
    status: string;
    started: string;
    ended: string;
    answer: string;
    noAnswer: string;
    notices: string;
    step: string;
    channel: string;
    delivery: string;
    sentAt: string;
    to: string;
    toResident: string;
    toProxy: (id: string) => string;
    carriedBy: (id: number) => string;
    carries: (n: number) => string;
    consent: string;
    consentNow: string;
    purpose: string;
    inForce: string;
    notInForce: string;
    action: string;
    via: string;
    wording: string;
    expires: string;
    recordedBy: string;
    at: string;
    relationships: string;
    relation: string;
    other: string;
    since: string;
    until: string;
    proxyMode: string;
    tasks: string;
    kind: string;
    note: string;
    letters: string;
    reference: string;
    batch: string;
    posted: string;
    returned: string;
    returnReason: string;
    none: string;
  };
  rules: {
    heading: string;
    intro: string;
    caption: string;
    ruleId: string;
    title: string;
    purpose: string;
    version: string;
    status: string;
    stored: string;
    submitted: string;
    approvedBy: string;
    inForce: string;
    none: string;
    action: string;
    submit: string;
    approve: string;
    submittedNotice: (id: string, version: number) => string;
    approvedNotice: (id: string, version: number) => string;
    simulate: string;
  };
  parameters: {
    heading: string;
    intro: string;
    caption: string;
    parameterId: string;
    description: string;
    values: string;
    change: string;
    sameValues: string;
    added: (since: string, value: string) => string;
    changed: (since: string, from: string, to: string) => string;
    removed: (since: string) => string;
    none: string;
    submittedNotice: (id: string, version: number) => string;
    approvedNotice: (id: string, version: number) => string;
  };
  simulation: {
    heading: (id: string, version: number) => string;
    intro: string;
    date: string;
    run: string;
    summary: (matched: number, consented: number, population: number, notEvaluated: number) => string;
    byWard: string;
    byFirstChannel: string;
    byLocale: string;
    group: string;
    residents: string;
    letters: string;
    lettersAtOnce: (n: number, yen: number) => string;
    lettersAtMost: (n: number, yen: number) => string;
    difference: (inForce: number) => string;
    differenceFrom: (other: number) => string;
    against: string;
    settings: string;
    noneInForce: string;
    sameAsInForce: string;
    gains: (n: number) => string;
    losses: (n: number) => string;
    definitionDiff: string;
    noDefinitionChange: string;
    unreachable: string;
    nobody: string;
  };
  error: { notFound: string; notFoundBody: string; forbidden: string; forbiddenBody: string; failed: string; failedBody: string; back: string };
  roles: Record<StaffRole, string>;
  taskKinds: Record<TaskKind, string>;
  outcomes: Record<TaskOutcome, string>;
  outreachStatus: Record<OutreachRowStatus, string>;
  responses: Record<ResponseKind, string>;
  channels: Record<Channel, string>;
  deliveryStatus: Record<string, string>;
  letterStatus: Record<string, string>;
  ruleStatus: Record<string, string>;
  consentActions: Record<ConsentAction, string>;
  consentChannels: Record<ConsentChannel, string>;
  relationships: Record<RelationshipKind, string>;
  residence: Record<string, string>;
  locales: Record<string, string>;
  yes: string;
  no: string;
}

const JA: ConsoleText = {
  htmlLang: 'ja',
  consoleName: 'おしらせ 職員コンソール',
  skipToContent: '本文へ移動',
  mainNav: 'メインメニュー',
  nav: { home: 'ホーム', tasks: 'タスク一覧', rules: 'ルール', takeUp: '効果検証' },
  language: '表示言語',
  otherLanguage: { lang: 'en', label: 'English' },
  signOut: 'サインアウト',
  signedInAs: 'サインイン中',
  home: {
    heading: 'ようこそ',
    roles: '役割',
    wards: '担当区',
    noWards: '担当区はありません',
    allWards: 'すべての区（閲覧のみ）',
    whatYouCanUse: '使える機能',
    nothing: 'この役割で使える画面はまだありません。',
    escalated: '上長への報告',
    escalatedWaiting: (n) => `期限を過ぎて上長へ報告されたタスク：${n}件`,
  },
  taskLinkText: 'タスク一覧：担当区のフォローアップタスク',
  rulesLinkText: 'ルール：保存されているルールと版',
  takeUpLinkText: '効果検証：お知らせから申請・給付までの件数',
  takeUp: {
    heading: '効果検証',
    intro: '対象になった住民のうち、お知らせが届いた人、回答した人、申請した人、給付を受けた人の数です（発生月・区・最初に届いた手段ごと）。',
    period: '期間と制度',
    from: '開始月',
    to: '終了月',
    monthHint: '年-月（例：2026-04）',
    rule: '制度（ルール）',
    any: 'すべて',
    show: '表示する',
    csv: 'この表をCSVでダウンロード',
    problems: '入力を確認してください',
    none: 'この期間に該当する件数はありません。',
    caption: (title) => `${title}の件数`,
    month: '発生月',
    ward: '区',
    firstChannel: '最初に届いた手段',
    matched: '対象',
    notified: '通知済み',
    answered: '回答',
    applied: '申請',
    granted: '給付',
    median: '申請までの日数（中央値）',
    total: '合計',
    noChannel: '届かず',
    days: (n) => `${n}日`,
  },
  tasks: {
    heading: 'タスク一覧',
    filters: '絞り込み',
    status: '状態',
    statusAll: 'すべて',
    kind: '種類',
    rule: '制度（ルール）',
    any: '指定なし',
    apply: '絞り込む',
    count: (n) => `${n}件`,
    none: '該当するタスクはありません。',
    caption: 'フォローアップタスク（担当区のみ）',
    id: '番号',
    resident: '住民',
    schemes: '制度',
    ward: '区',
    created: '作成日時',
    due: '期限',
    assignee: '担当者',
    notAssigned: '未割当',
    state: '状態',
    open: '対応中',
    closed: '完了',
    closedBy: (who, at) => `${at}に${who}が完了`,
    taskHeading: (id) => `タスク ${id}`,
    close: 'このタスクを完了にする',
    note: 'メモ（任意）',
    noteHint: '対応の内容を書いてください。個人の事情は必要な範囲で。',
    closeButton: '完了にする',
    outcome: '対応の結果',
    chooseOutcome: '選んでください',
    holder: '担当',
    mine: '自分の担当',
    assignedToYou: 'あなた',
    unassignedOnly: '未割当',
    overdueOnly: '期限切れのみ',
    overdue: '期限切れ',
    escalated: '上長へ報告済み',
    claim: 'このタスクを引き受ける',
    claimedNotice: 'このタスクを引き受けました。',
    takenNotice: (who) => `このタスクはすでに ${who} が担当しています。`,
    notes: 'メモ',
    noNotes: 'メモはありません。',
    addNote: 'メモを追加する',
    noteText: 'メモ',
    addNoteButton: 'メモを追加',
    notedNotice: 'メモを追加しました。',
    noteEmpty: 'メモが空です。',
    noteBy: (who, at) => `${at} ${who}`,
    closedNotice: (id) => `タスク ${id} を完了にしました。`,
    alreadyClosed: 'このタスクはすでに完了しています。',
    timeline: '住民の経過を見る',
    backToQueue: 'タスク一覧に戻る',
    escalatedOnly: '上長へ報告済みのみ',
    escalatedHeading: '上長へ報告されたタスク',
    escalatedIntro: '期限までに完了しなかったため、上長へ報告されたタスクです。下の一覧にも表示されます。',
    escalatedCaption: '上長へ報告されたタスク（担当区のみ、対応中）',
    noEscalated: '上長へ報告されたタスクはありません。',
    queueHeading: '担当区のタスク',
    escalation: '上長への報告',
    escalatedBecause: (at, due) => `${at}に上長へ報告：期限（${due}）までに完了しなかったため。`,
    heldThen: (who) => `そのときの担当者：${who}`,
    assign: '同じ区の職員に割り当てる',
    assignTo: '割り当てる相手',
    assignHint: 'この区のケースワーカーと上長のうち、このサービスにサインインしたことのある職員です。',
    assignButton: '割り当てる',
    chooseColleague: '割り当てる相手を選んでください。',
    noColleagues: '割り当てられる同じ区の職員はまだいません（一度サインインすると表示されます）。',
    colleague: (name, roles) => (roles.length ? `${name}：${roles.join('・')}` : name),
    assignedNotice: (who) => `このタスクを ${who} に割り当てました。`,
    notAColleague: (who, ward) => `${who} は${ward}のケースワーカー・上長ではないため、このタスクを割り当てられません。`,
  },
  resident: {
    heading: (id) => `住民 ${id} の経過`,
    profile: '基本情報',
    name: '氏名',
    ward: '区',
    residence: '住民登録',
    locale: '言語',
    channels: '希望する連絡手段',
    channelsAll: '指定なし（すべて）',
    quietHours: '連絡を控える時間',
    quietDefault: '既定（21:00〜8:00）',
    events: 'ライフイベント',
    eventType: '種類',
    occurred: '発生日',
    received: '受信日時',
    outreach: 'お知らせ',
    outreachCaption: (rule) => `${rule}の送付`,
    rule: '制度',
    version: '版',
    status: '状態',
    started: '開始',
    ended: '終了',
    answer: '回答',
    noAnswer: '回答なし',
    notices: '送付',
    step: '段階',
    channel: '手段',
    delivery: '配信状況',
    sentAt: '送信日時',
    to: '宛先',
    toResident: '本人',
    toProxy: (id) => `代理人 ${id}`,
    carriedBy: (id) => `送付 #${id} にまとめて送付`,
    carries: (n) => `ほか${n}件をまとめて送付`,
    consent: '同意の記録',
    consentNow: '現在の同意',
    purpose: '目的',
    inForce: '有効',
    notInForce: '無効',
    action: '内容',
    via: '経路',
    wording: '文言の版',
    expires: '有効期限',
    recordedBy: '記録者',
    at: '日時',
    relationships: '代理人・関係',
    relation: '関係',
    other: '相手',
    since: '開始',
    until: '終了',
    proxyMode: '代理受取',
    tasks: 'タスクとメモ',
    kind: '種類',
    note: 'メモ',
    letters: '郵送物',
    reference: '番号',
    batch: '印刷日',
    posted: '発送日時',
    returned: '返戻日時',
    returnReason: '返戻理由',
    none: 'ありません。',
  },
  rules: {
    heading: 'ルール',
    intro: 'データベースに保存されているルールの版と状態です。公開には、作成者の提出と別の職員の承認が必要です（作成者は提出、承認者は承認ができます）。',
    caption: '保存されているルールの版',
    ruleId: 'ルールID',
    title: '名称',
    purpose: '目的',
    version: '版',
    status: '状態',
    stored: '公開日時',
    submitted: '提出',
    approvedBy: '承認者',
    inForce: '運用中',
    none: '保存されているルールはありません。',
    action: '操作',
    submit: '承認を依頼する',
    approve: '承認して公開する',
    submittedNotice: (id, version) => `${id} 第${version}版の承認を依頼しました。別の承認者が承認すると公開されます。`,
    approvedNotice: (id, version) => `${id} 第${version}版を承認し、公開しました。新しいお知らせからこの版が使われます。`,
    simulate: '試算',
  },
  parameters: {
    heading: 'パラメータ（年度ごとの基準額・基準値）',
    intro:
      'ルールが読む基準額や所得段階の上限など、年度ごとに変わる値です。ファイルを変更すると新しい下書きの版として保存され、作成者の提出と別の職員の承認で運用に入ります。それまでは運用中の版の値が使われます。',
    caption: '保存されているパラメータの版',
    parameterId: 'パラメータID',
    description: '説明',
    values: '値（適用開始日：値）',
    change: '運用中の版からの変更',
    sameValues: '変更なし',
    added: (since, value) => `追加 ${since}：${value}`,
    changed: (since, from, to) => `変更 ${since}：${from} → ${to}`,
    removed: (since) => `削除 ${since}`,
    none: '保存されているパラメータはありません。',
    submittedNotice: (id, version) => `パラメータ ${id} 第${version}版の承認を依頼しました。別の承認者が承認すると運用に入ります。`,
    approvedNotice: (id, version) => `パラメータ ${id} 第${version}版を承認しました。これからの判定はこの版の値を使います。`,
  },
  simulation: {
    heading: (id, version) => `${id} 第${version}版の試算`,
    intro: 'この版を公開した場合に、指定日に誰に届くかを試算します。何も送信しません。同意のない住民は評価せず、人数だけを数えます。',
    date: '基準日',
    run: '試算する',
    summary: (matched, consented, population, notEvaluated) =>
      `${population.toLocaleString('ja')}人のうち、同意のある${consented.toLocaleString('ja')}人を評価し、${matched.toLocaleString('ja')}人にお知らせが届きます（同意のない${notEvaluated.toLocaleString('ja')}人は評価していません）。`,
    byWard: '区別',
    byFirstChannel: '最初に届く手段',
    byLocale: '言語別',
    group: '区分',
    residents: '人数',
    letters: '郵送の見込み',
    lettersAtOnce: (n, yen) => `すぐに郵送：${n.toLocaleString('ja')}通（郵送料 ${yen.toLocaleString('ja')}円）— デジタルの手段で届かない人`,
    lettersAtMost: (n, yen) => `最大：${n.toLocaleString('ja')}通（郵送料 ${yen.toLocaleString('ja')}円）— 郵送の段階までだれも回答しなかった場合`,
    difference: (inForce) => `運用中の第${inForce}版との違い`,
    differenceFrom: (other) => `第${other}版との違い`,
    against: '比べる版',
    settings: '試算の条件',
    noneInForce: 'このルールに運用中の版はありません。公開すると、上の人数がすべて新たな対象になります。',
    sameAsInForce: 'この版が運用中の版です。',
    gains: (n) => `新たに届く人：${n.toLocaleString('ja')}人`,
    losses: (n) => `届かなくなる人：${n.toLocaleString('ja')}人`,
    definitionDiff: 'ルール定義の差分（− 比べる版、＋ この版）',
    noDefinitionChange: '定義の違いはありません。',
    unreachable: '届く手段なし',
    nobody: '該当する人はいません。',
  },
  error: {
    notFound: 'ページが見つかりません',
    notFoundBody: 'お探しのページはないか、担当区の外にあります。',
    forbidden: 'この操作はできません',
    forbiddenBody: 'この画面を使う役割がないか、フォームの有効期限が切れました。前のページに戻ってやり直してください。',
    failed: 'エラーが発生しました',
    failedBody: 'しばらくしてからもう一度お試しください。',
    back: 'ホームに戻る',
  },
  roles: {
    caseworker: 'ケースワーカー',
    supervisor: '上長（スーパーバイザー）',
    'policy-author': '施策担当（作成）',
    'policy-approver': '施策担当（承認）',
    auditor: '監査担当',
    administrator: '管理者',
  },
  outcomes: {
    'reached-by-phone': '電話で連絡がついた',
    visited: '訪問した',
    'applied-at-counter': '窓口で申請した',
    'not-eligible': '対象外だった',
    'could-not-reach': '連絡がつかなかった',
  },
  taskKinds: {
    'no-response': '回答なし',
    'deadline-passed': '期限切れ',
    unreachable: '連絡先なし',
    'asked-for-help': '支援の希望',
    'letter-returned': '郵便の返戻',
  },
  outreachStatus: {
    active: '送付中',
    responded: '回答あり',
    'no-response': '回答なしで終了',
    'consent-withdrawn': '同意の取消しで終了',
    'rule-withdrawn': 'ルールの取下げで終了',
    'no-longer-applies': '対象外になり終了',
    'deadline-passed': '期限切れで終了',
    'moved-out': '転出で終了',
    deceased: '死亡で終了',
  },
  responses: { acknowledged: '確認しました', applied: '申請しました', 'not-for-me': '当てはまらない', stop: '今後受け取らない' },
  channels: { email: 'メール', push: 'プッシュ通知', letter: '郵便' },
  deliveryStatus: {
    pending: '送信待ち',
    sent: '送信済み',
    'sent-unconfirmed': '送信済み（到達未確認：送信中に処理が止まったため、再送していません）',
    rehearsed: 'テスト送信（実際には未送信）',
    skipped: '送らず',
    failed: '失敗',
    cancelled: '取消し',
  },
  letterStatus: { queued: '印刷待ち', cancelled: '取消し', printed: '印刷済み', posted: '発送済み', returned: '返戻' },
  ruleStatus: { draft: '下書き', 'awaiting-approval': '承認待ち', published: '公開', withdrawn: '取下げ' },
  consentActions: { grant: '同意', change: '変更', withdraw: '取消し', preferences: '連絡方法の変更' },
  consentChannels: { portal: 'ポータル', counter: '窓口', paper: '書面', proxy: '代理人', link: 'リンク', migrated: '移行' },
  relationships: { guardian_of: '保護者', carer_of: '介護者', legal_representative_of: '法定代理人' },
  residence: { registered: '登録中', 'moved-out': '転出', deceased: '死亡' },
  locales: { ja: '日本語', en: '英語', 'ja-easy': 'やさしい日本語' },
  yes: 'はい',
  no: 'いいえ',
};

const EN: ConsoleText = {
  htmlLang: 'en',
  consoleName: 'Oshirase staff console',
  skipToContent: 'Skip to content',
  mainNav: 'Main menu',
  nav: { home: 'Home', tasks: 'Tasks', rules: 'Rules', takeUp: 'Take-up' },
  language: 'Language',
  otherLanguage: { lang: 'ja', label: '日本語' },
  signOut: 'Sign out',
  signedInAs: 'Signed in as',
  home: {
    heading: 'Welcome',
    roles: 'Roles',
    wards: 'Wards',
    noWards: 'No wards',
    allWards: 'Every ward (read only)',
    whatYouCanUse: 'What you can use',
    nothing: 'There is no page for these roles yet.',
    escalated: 'Escalated to you',
    escalatedWaiting: (n) => `Tasks escalated for being overdue: ${n}`,
  },
  taskLinkText: "Tasks: your wards' follow-up tasks",
  rulesLinkText: 'Rules: the stored rules and their versions',
  takeUpLinkText: 'Take-up: from notice to application and grant',
  takeUp: {
    heading: 'Take-up',
    intro:
      'Of the residents a rule matched: how many a notice reached, answered, applied and were granted (by trigger month, ward and the first channel that reached them).',
    period: 'Period and scheme',
    from: 'From month',
    to: 'To month',
    monthHint: 'Year-month (e.g. 2026-04)',
    rule: 'Scheme (rule)',
    any: 'All',
    show: 'Show',
    csv: 'Download this table as CSV',
    problems: 'Please check the form',
    none: 'No figures for this period.',
    caption: (title) => `${title}: figures`,
    month: 'Month',
    ward: 'Ward',
    firstChannel: 'First channel',
    matched: 'Matched',
    notified: 'Notified',
    answered: 'Answered',
    applied: 'Applied',
    granted: 'Granted',
    median: 'Median days to apply',
    total: 'Total',
    noChannel: 'Not reached',
    days: (n) => `${n} ${n === 1 ? 'day' : 'days'}`,
  },
  tasks: {
    heading: 'Tasks',
    filters: 'Filters',
    status: 'Status',
    statusAll: 'All',
    kind: 'Kind',
    rule: 'Scheme (rule)',
    any: 'Any',
    apply: 'Apply',
    count: (n) => `${n} ${n === 1 ? 'task' : 'tasks'}`,
    none: 'No tasks match.',
    caption: 'Follow-up tasks (your wards only)',
    id: 'No.',
    resident: 'Resident',
    schemes: 'Schemes',
    ward: 'Ward',
    created: 'Created',
    due: 'Due',
    assignee: 'Assignee',
    notAssigned: 'Not assigned',
    state: 'Status',
    open: 'Open',
    closed: 'Closed',
    closedBy: (who, at) => `Closed by ${who} at ${at}`,
    taskHeading: (id) => `Task ${id}`,
    close: 'Close this task',
    note: 'Note (optional)',
    noteHint: 'What was done. Personal circumstances only as far as needed.',
    closeButton: 'Close task',
    outcome: 'Outcome',
    chooseOutcome: 'Choose one',
    holder: 'Held by',
    mine: 'Mine',
    assignedToYou: 'You',
    unassignedOnly: 'Unassigned',
    overdueOnly: 'Overdue only',
    overdue: 'Overdue',
    escalated: 'Escalated',
    claim: 'Take this task',
    claimedNotice: 'You hold this task now.',
    takenNotice: (who) => `${who} holds this task already.`,
    notes: 'Notes',
    noNotes: 'No notes.',
    addNote: 'Add a note',
    noteText: 'Note',
    addNoteButton: 'Add note',
    notedNotice: 'The note is added.',
    noteEmpty: 'The note is empty.',
    noteBy: (who, at) => `${at} ${who}`,
    closedNotice: (id) => `Task ${id} is closed.`,
    alreadyClosed: 'This task is closed already.',
    timeline: "Open the resident's timeline",
    backToQueue: 'Back to the tasks',
    escalatedOnly: 'Escalated only',
    escalatedHeading: 'Escalated tasks',
    escalatedIntro: 'These tasks were still open at their due date and were escalated to the ward’s supervisors. They stay in the queue below too.',
    escalatedCaption: 'Escalated tasks (your wards only, open)',
    noEscalated: 'No task is escalated.',
    queueHeading: 'Tasks of your wards',
    escalation: 'Escalation',
    escalatedBecause: (at, due) => `Escalated at ${at}: still open at its due date (${due}).`,
    heldThen: (who) => `Held by then: ${who}`,
    assign: 'Assign to a colleague of this ward',
    assignTo: 'Colleague',
    assignHint: 'Caseworkers and supervisors of this ward who have signed in to this service.',
    assignButton: 'Assign',
    chooseColleague: 'Choose the colleague to assign the task to.',
    noColleagues: 'No colleague of this ward to assign to yet (staff appear once they have signed in).',
    colleague: (name, roles) => (roles.length ? `${name} — ${roles.join(', ')}` : name),
    assignedNotice: (who) => `The task is assigned to ${who}.`,
    notAColleague: (who, ward) => `${who} is not a caseworker or supervisor of ${ward}: the task cannot be assigned to them.`,
  },
  resident: {
    heading: (id) => `Resident ${id}: timeline`,
    profile: 'Profile',
    name: 'Name',
    ward: 'Ward',
    residence: 'Residence',
    locale: 'Language',
    channels: 'Channels wanted',
    channelsAll: 'No preference (all)',
    quietHours: 'Quiet hours',
    quietDefault: 'Default (21:00–08:00)',
    events: 'Life events',
    eventType: 'Type',
    occurred: 'Occurred',
    received: 'Received',
    outreach: 'Outreach',
    outreachCaption: (rule) => `Notices of ${rule}`,
    rule: 'Scheme',
    version: 'Version',
    status: 'Status',
    started: 'Started',
    ended: 'Ended',
    answer: 'Answer',
    noAnswer: 'No answer',
    notices: 'Notices',
    step: 'Step',
    channel: 'Channel',
    delivery: 'Delivery',
    sentAt: 'Sent',
    to: 'To',
    toResident: 'The resident',
    toProxy: (id) => `Proxy ${id}`,
    carriedBy: (id) => `Merged into send #${id}`,
    carries: (n) => `Carried ${n} more`,
    consent: 'Consent history',
    consentNow: 'Consent now',
    purpose: 'Purpose',
    inForce: 'In force',
    notInForce: 'Not in force',
    action: 'Action',
    via: 'Through',
    wording: 'Wording version',
    expires: 'Expires',
    recordedBy: 'Recorded by',
    at: 'When',
    relationships: 'Proxies and relationships',
    relation: 'Relation',
    other: 'Other resident',
    since: 'Since',
    until: 'Until',
    proxyMode: 'Receives notices',
    tasks: 'Tasks and notes',
    kind: 'Kind',
    note: 'Note',
    letters: 'Letters',
    reference: 'Reference',
    batch: 'Print date',
    posted: 'Posted',
    returned: 'Returned',
    returnReason: 'Reason returned',
    none: 'None.',
  },
  rules: {
    heading: 'Rules',
    intro:
      'The rule versions stored in the database and their status. A version is published when its author submits it and another person approves it (authors submit, approvers approve).',
    caption: 'Stored rule versions',
    ruleId: 'Rule id',
    title: 'Title',
    purpose: 'Purpose',
    version: 'Version',
    status: 'Status',
    stored: 'Published',
    submitted: 'Submitted',
    approvedBy: 'Approved by',
    inForce: 'In force',
    none: 'No rule is stored.',
    action: 'Action',
    submit: 'Submit for approval',
    approve: 'Approve and publish',
    submittedNotice: (id, version) => `Submitted ${id} version ${version} for approval. It is published when another approver approves it.`,
    approvedNotice: (id, version) => `Approved and published ${id} version ${version}. New outreach uses it from now on.`,
    simulate: 'Simulate',
  },
  parameters: {
    heading: 'Parameters (amounts and thresholds by fiscal year)',
    intro:
      'Values that change by fiscal year, such as an amount or the highest income bracket that qualifies, read by the rules. A changed file is stored as a new draft version and comes into force when its author submits it and another person approves it; until then the version in force keeps applying.',
    caption: 'Stored parameter versions',
    parameterId: 'Parameter id',
    description: 'Description',
    values: 'Values (from date: value)',
    change: 'Change from the version in force',
    sameValues: 'No change',
    added: (since, value) => `added ${since}: ${value}`,
    changed: (since, from, to) => `changed ${since}: ${from} → ${to}`,
    removed: (since) => `removed ${since}`,
    none: 'No parameter is stored.',
    submittedNotice: (id, version) => `Submitted parameter ${id} version ${version} for approval. It comes into force when another approver approves it.`,
    approvedNotice: (id, version) => `Approved parameter ${id} version ${version}. Evaluation uses its values from now on.`,
  },
  simulation: {
    heading: (id, version) => `Simulation of ${id} version ${version}`,
    intro: 'Who this version would reach on the given day if it were published. Nothing is sent. Residents without consent are counted, never evaluated.',
    date: 'Day',
    run: 'Simulate',
    summary: (matched, consented, population, notEvaluated) =>
      `Of ${population.toLocaleString('en')} residents, the ${consented.toLocaleString('en')} who consented were evaluated; ${matched.toLocaleString('en')} would be notified (${notEvaluated.toLocaleString('en')} without consent were not evaluated).`,
    byWard: 'By ward',
    byFirstChannel: 'By first channel',
    byLocale: 'By language',
    group: 'Group',
    residents: 'Residents',
    letters: 'Letters to expect',
    lettersAtOnce: (n, yen) => `At once: ${n.toLocaleString('en')} letters (postage ¥${yen.toLocaleString('en')}) — residents no digital channel reaches`,
    lettersAtMost: (n, yen) => `At most: ${n.toLocaleString('en')} letters (postage ¥${yen.toLocaleString('en')}) — if nobody answers before the letter step`,
    difference: (inForce) => `Difference from version ${inForce}, in force`,
    differenceFrom: (other) => `Difference from version ${other}`,
    against: 'Compare with version',
    settings: 'Simulation settings',
    noneInForce: 'No version of this rule is in force: publishing it makes everyone above newly notified.',
    sameAsInForce: 'This is the version in force.',
    gains: (n) => `Newly notified: ${n.toLocaleString('en')}`,
    losses: (n) => `No longer notified: ${n.toLocaleString('en')}`,
    definitionDiff: 'Difference of the rule definitions (− the version compared with, + this version)',
    noDefinitionChange: 'The definitions do not differ.',
    unreachable: 'No channel',
    nobody: 'Nobody.',
  },
  error: {
    notFound: 'Page not found',
    notFoundBody: 'The page does not exist or is outside your wards.',
    forbidden: 'Not allowed',
    forbiddenBody: 'Your roles do not include this page, or the form has expired. Go back and try again.',
    failed: 'Something went wrong',
    failedBody: 'Please try again in a moment.',
    back: 'Back to the home page',
  },
  roles: {
    caseworker: 'Caseworker',
    supervisor: 'Supervisor',
    'policy-author': 'Policy author',
    'policy-approver': 'Policy approver',
    auditor: 'Auditor',
    administrator: 'Administrator',
  },
  outcomes: {
    'reached-by-phone': 'Reached by phone',
    visited: 'Visited',
    'applied-at-counter': 'Applied at the counter',
    'not-eligible': 'Not eligible',
    'could-not-reach': 'Could not reach',
  },
  taskKinds: {
    'no-response': 'No response',
    'deadline-passed': 'Deadline passed',
    unreachable: 'Unreachable',
    'asked-for-help': 'Asked for help',
    'letter-returned': 'Letter returned',
  },
  outreachStatus: {
    active: 'Running',
    responded: 'Answered',
    'no-response': 'Ended without an answer',
    'consent-withdrawn': 'Ended: consent withdrawn',
    'rule-withdrawn': 'Ended: rule withdrawn',
    'no-longer-applies': 'Ended: no longer applies',
    'deadline-passed': 'Ended: deadline passed',
    'moved-out': 'Ended: moved out',
    deceased: 'Ended: deceased',
  },
  responses: { acknowledged: 'Acknowledged', applied: 'Applied', 'not-for-me': 'Not for me', stop: 'Stop these notices' },
  channels: { email: 'Email', push: 'Push', letter: 'Letter' },
  deliveryStatus: {
    pending: 'Pending',
    sent: 'Sent',
    'sent-unconfirmed': 'Sent, unconfirmed (the sending process stopped before the answer; not sent again)',
    rehearsed: 'Rehearsed (test mode, not sent)',
    skipped: 'Not sent',
    failed: 'Failed',
    cancelled: 'Cancelled',
  },
  letterStatus: { queued: 'Queued', cancelled: 'Cancelled', printed: 'Printed', posted: 'Posted', returned: 'Returned' },
  ruleStatus: { draft: 'Draft', 'awaiting-approval': 'Awaiting approval', published: 'Published', withdrawn: 'Withdrawn' },
  consentActions: { grant: 'Granted', change: 'Changed', withdraw: 'Withdrawn', preferences: 'Contact preferences changed' },
  consentChannels: { portal: 'Portal', counter: 'Counter', paper: 'Paper', proxy: 'Proxy', link: 'Link', migrated: 'Migrated' },
  relationships: { guardian_of: 'Guardian', carer_of: 'Carer', legal_representative_of: 'Legal representative' },
  residence: { registered: 'Registered', 'moved-out': 'Moved out', deceased: 'Deceased' },
  locales: { ja: 'Japanese', en: 'English', 'ja-easy': 'Easy Japanese' },
  yes: 'Yes',
  no: 'No',
};

export const CONSOLE_TEXT: Record<ConsoleLanguage, ConsoleText> = { ja: JA, en: EN };

/** A label for a value of an open vocabulary: the value itself when the table has none (a newer enum value). */
export function labelOf(table: Record<string, string>, value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  return table[value] ?? value;
}
