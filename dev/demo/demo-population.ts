import type { Locale, NewResident } from '../../store/schema';

/**
 * The demo's residents: each shows one path through the engine. All names and
 * addresses are fictional.
 */
export interface DemoResident {
  resident: Omit<NewResident, 'id' | 'household_id'>;
  key: string;
  consents: string[];
  push: boolean;
  /** What this resident does, in words for the demo's account. */
  story: string;
  /** For the daily evaluation: the resident turns 65 this many days after the demo's day. */
  turns65InDays?: number;
  /** When and how the resident answers, if at all. */
  responds?: { after: 'email' | 'push'; click: string };
}

const base = (family: string, given: string, locale: Locale, ward: string) => ({
  family_name: family,
  given_name: given,
  locale,
  ward,
  birth_date: '1992-04-18',
  residence_status: 'registered' as const,
  email_status: 'valid' as const,
});

export const DEMO_RESIDENTS: DemoResident[] = [
  {
    key: '1001',
    resident: {
      ...base('佐藤', '美咲', 'ja', 'chuo'),
      email: 'misaki.sato@residents.example',
      postal_code: '100-0005',
      address: 'おしらせ市丸の内一丁目2番3号 おしらせハイツ101',
    },
    consents: ['child-benefits'],
    push: true,
    story: 'consented; email, push and post; never answers → every channel, then a caseworker',
  },
  {
    key: '1002',
    resident: {
      ...base('Carter', 'Emily', 'en', 'minato'),
      email: 'emily.carter@residents.example',
      postal_code: '105-0011',
      address: '4-5-6 Shibakoen, Oshirase City',
    },
    consents: ['child-benefits'],
    push: false,
    story: 'consented, reads English; answers "I have applied" from her email',
    responds: { after: 'email', click: 'I have applied' },
  },
  {
    key: '1003',
    resident: { ...base('グエン', 'ティ・ラン', 'ja-easy', 'kita'), email: null, postal_code: '114-0002', address: 'おしらせ市王子三丁目7番8号' },
    consents: ['child-benefits'],
    push: true,
    story: 'consented, reads easy Japanese, no email; answers the push',
    responds: { after: 'push', click: 'the push notification' },
  },
  {
    key: '1004',
    resident: { ...base('田中', '健', 'ja', 'chuo'), email: 'ken.tanaka@residents.example', postal_code: '104-0061', address: 'おしらせ市銀座五丁目1番1号' },
    consents: ['health-checkups'],
    push: true,
    story: 'did NOT consent to child-benefits → must receive nothing',
  },
  {
    key: '1005',
    resident: { ...base('高橋', '陽子', 'ja', 'kita'), email: null, postal_code: '115-0045', address: 'おしらせ市赤羽二丁目9番10号' },
    consents: ['child-benefits'],
    push: false,
    story: 'consented, no email and no smartphone → a letter at once, then a caseworker',
  },
  {
    key: '1006',
    resident: { ...base('伊藤', '翔', 'ja', 'minato'), email: 'sho.ito@residents.example', postal_code: '106-0032', address: 'おしらせ市六本木六丁目3番2号' },
    consents: ['child-benefits'],
    push: true,
    story: 'consented; asks to stop these notices from the email',
    responds: { after: 'email', click: 'このお知らせを今後受け取らない' },
  },
  {
    key: '1008',
    resident: {
      ...base('木村', '誠', 'ja', 'higashi'),
      email: 'makoto.kimura@residents.example',
      postal_code: '130-0001',
      address: 'おしらせ市吾妻橋一丁目4番5号',
    },
    consents: ['elderly-care'],
    push: false,
    story: 'turns 65 in 12 days; found by the daily evaluation (no event), answers the email',
    responds: { after: 'email', click: '確認しました' },
    turns65InDays: 12,
  },
  {
    key: '1007',
    resident: {
      ...base('山本', '大輔', 'ja', 'chuo'),
      email: 'daisuke.yamamoto@residents.example',
      postal_code: '100-0001',
      address: 'おしらせ市千代田1番1号',
      residence_status: 'moved-out',
    },
    consents: ['child-benefits'],
    push: false,
    story: 'consented but moved out of the city → the rule does not match',
  },
];
