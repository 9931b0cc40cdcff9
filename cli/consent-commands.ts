/**
 *   oshirase consent grant --resident R-1001 --purpose child-benefits --channel counter --wording-version 1 [--expires 2027-03-31]
 *   oshirase consent withdraw --resident R-1001 --purpose child-benefits [--channel counter]
 *   oshirase consent show --resident R-1001
 *   oshirase consent preferences --resident R-1001 [--channels email,push,letter] [--locale ja] [--quiet 21:00-08:00|none] [--channel counter]
 */
import { withdrawConsentAndStopOutreach } from '../engine/outreach/withdraw-consent';
import {
  ConsentInputError,
  changeContactPreferences,
  grantConsent,
  parsePreferencesChange,
  splitChannels,
  type PreferencesChange,
} from '../engine/register/consent-records';
import { currentPurposeWording, isPurpose } from '../engine/rule-language/attribute-catalog';
import { table } from '../foundation/text-table';
import { consentRecordOf, contactPreferencesOf, type ContactPreferences } from '../store/consent';
import { RECORDABLE_CONSENT_CHANNELS, type ConsentChannel } from '../store/vocabulary';
import { defineCommand, requireOption, UsageError } from './cli-support';

/** Who records from the command line: a caseworker at the office's terminal (the audit log names it so). */
const CLI_RECORDER = 'caseworker:cli';

function channelOption(command: string, value: string | undefined, fallback: ConsentChannel | null): ConsentChannel {
  if (value === undefined && fallback) return fallback;
  const channel = requireOption(command, 'channel', value);
  if (!(RECORDABLE_CONSENT_CHANNELS as readonly string[]).includes(channel)) {
    throw new UsageError(command, `--channel: "${channel}" is not one of ${RECORDABLE_CONSENT_CHANNELS.join(', ')}`);
  }
  return channel as ConsentChannel;
}

function purposeOption(command: string, value: string | undefined): string {
  const purpose = requireOption(command, 'purpose', value);
  if (!isPurpose(purpose)) throw new UsageError(command, `--purpose: no purpose ${purpose}`);
  return purpose;
}

/** A refused input as a usage mistake: one line naming the field (the option) and why, exit code 2. */
async function asUsage<T>(command: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ConsentInputError) throw new UsageError(command, error.problems.join('; '));
    throw error;
  }
}

export const CONSENT_GRANT = defineCommand<{ resident?: string; purpose?: string; channel?: string; wordingVersion?: string; expires?: string }>({
  name: 'consent grant',
  summary:
    "Record a resident's consent to a purpose, with how it was given and the version of the purpose's wording they saw; again with another version or expiry, a change.",
  usage: '--resident ID --purpose PURPOSE --channel portal|counter|paper|proxy|link --wording-version N [--expires YYYY-MM-DD]',
  options: (cmd) =>
    cmd
      .option('--resident <id>', 'the resident')
      .option('--purpose <purpose>', 'the purpose consented to')
      .option('--channel <channel>', `how the consent reached the city: ${RECORDABLE_CONSENT_CHANNELS.join(', ')}`)
      .option('--wording-version <n>', "the version of the purpose's wording the resident saw")
      .option('--expires <date>', 'the last day the consent holds (Asia/Tokyo); none by default'),
  async run({ opts }, ctx) {
    const name = CONSENT_GRANT.name;
    const resident = requireOption(name, 'resident', opts.resident);
    const purpose = purposeOption(name, opts.purpose);
    const channel = channelOption(name, opts.channel, null);
    const versionText = requireOption(name, 'wording-version', opts.wordingVersion);
    if (!/^[1-9][0-9]{0,5}$/.test(versionText)) throw new UsageError(name, `--wording-version: "${versionText}" is not a version number`);
    const context = await ctx.engine();
    const action = await asUsage(name, () =>
      grantConsent(context.database.db, {
        residentId: resident,
        purpose,
        channel,
        wordingVersion: Number(versionText),
        expiresOn: opts.expires ?? null,
        recordedBy: CLI_RECORDER,
      }),
    );
    const until = opts.expires ? ` until ${opts.expires}` : '';
    ctx.print(
      action === 'unchanged'
        ? `${resident} already consents to ${purpose} (wording v${versionText}${until}): nothing recorded`
        : `consent of ${resident} to ${purpose} ${action === 'grant' ? 'granted' : 'changed'} (wording v${versionText}, ${channel}${until})`,
    );
    return 0;
  },
});

export const CONSENT_WITHDRAW = defineCommand<{ resident?: string; purpose?: string; channel?: string }>({
  name: 'consent withdraw',
  summary: "Record a resident's withdrawal of consent for a purpose; their running outreach for it ends at once.",
  usage: '--resident ID --purpose PURPOSE [--channel portal|counter|paper|proxy|link]',
  options: (cmd) =>
    cmd
      .option('--resident <id>', 'the resident')
      .option('--purpose <purpose>', 'the purpose consent is withdrawn for')
      .option('--channel <channel>', `how the withdrawal reached the city (default counter): ${RECORDABLE_CONSENT_CHANNELS.join(', ')}`),
  async run({ opts }, ctx) {
    const resident = requireOption(CONSENT_WITHDRAW.name, 'resident', opts.resident);
    const purpose = requireOption(CONSENT_WITHDRAW.name, 'purpose', opts.purpose);
    const channel = channelOption(CONSENT_WITHDRAW.name, opts.channel, 'counter');
    const temporal = await ctx.temporal();
    const context = await ctx.engine();
    const result = await withdrawConsentAndStopOutreach({ db: context.database.db, temporal }, resident, purpose, { channel, recordedBy: CLI_RECORDER });
    ctx.print(result.withdrawn ? `consent of ${resident} for ${purpose} withdrawn` : `${resident} had no consent in force for ${purpose}`);
    for (const id of result.stopped) ctx.print(`  stopped ${id}`);
    return 0;
  },
});

function describePreferences(p: ContactPreferences): string[] {
  return [
    `channels:    ${p.channels === null ? '(no preference: every channel of a plan)' : p.channels.length === 0 ? '(none)' : p.channels.join(', ')}`,
    `locale:      ${p.locale}`,
    `quiet hours: ${p.quietHours ? `${p.quietHours.start}-${p.quietHours.end} (Asia/Tokyo)` : '(the engine default)'}`,
  ];
}

export const CONSENT_SHOW = defineCommand<{ resident?: string }>({
  name: 'consent show',
  summary: "A resident's whole consent history (newest last), the consent in force per purpose today, and their contact preferences.",
  usage: '--resident ID',
  options: (cmd) => cmd.option('--resident <id>', 'the resident'),
  async run({ opts }, ctx) {
    const resident = requireOption(CONSENT_SHOW.name, 'resident', opts.resident);
    const db = (await ctx.engine()).database.db;
    const preferences = await contactPreferencesOf(db, resident);
    if (!preferences) throw new UsageError(CONSENT_SHOW.name, `--resident: no resident ${resident} in the register`);
    const record = await consentRecordOf(db, resident);
    ctx.print(`consent history of ${resident}`);
    ctx.print(
      record.history.length === 0
        ? '  (nothing recorded)'
        : table(
            ['recorded at', 'purpose', 'action', 'channel', 'wording', 'expires', 'recorded by'],
            record.history.map((h) => [
              h.at.toISOString(),
              h.purpose ?? '(preferences)',
              h.action === 'preferences' ? `preferences: ${String((h.detail.changed as string[] | undefined)?.join(', ') ?? '')}` : h.action,
              h.channel,
              h.wordingVersion === null ? '-' : `v${h.wordingVersion}`,
              h.expiresOn ?? '-',
              h.recordedBy,
            ]),
          ),
    );
    ctx.print('');
    ctx.print('in force today');
    ctx.print(
      record.current.length === 0
        ? '  (no purpose)'
        : table(
            ['purpose', 'state', 'since', 'wording', 'expires'],
            record.current.map((c) => [
              c.purpose,
              c.granted ? 'granted' : c.withdrawnAt ? 'withdrawn' : 'expired',
              (c.granted || c.expired ? c.grantedAt : c.withdrawnAt)?.toISOString() ?? '-',
              c.wordingVersion === null
                ? '-'
                : `v${c.wordingVersion}${isPurpose(c.purpose) && currentPurposeWording(c.purpose).version !== c.wordingVersion ? ' (not current)' : ''}`,
              c.expiresOn ?? '-',
            ]),
          ),
    );
    ctx.print('');
    ctx.print('contact preferences');
    for (const line of describePreferences(preferences)) ctx.print(`  ${line}`);
    return 0;
  },
});

export const CONSENT_PREFERENCES = defineCommand<{ resident?: string; channels?: string; locale?: string; quiet?: string; channel?: string }>({
  name: 'consent preferences',
  summary: "Record a resident's contact preferences: the channels they want in order, their language, their quiet hours (Asia/Tokyo).",
  usage: '--resident ID [--channels email,push,letter] [--locale ja|en|ja-easy] [--quiet HH:MM-HH:MM|none] [--channel counter]',
  options: (cmd) =>
    cmd
      .option('--resident <id>', 'the resident')
      .option('--channels <list>', 'channels wanted, in order, comma-separated (email, push, letter); a channel left out is not used')
      .option('--locale <locale>', 'the language of notices: ja, en, ja-easy')
      .option('--quiet <range>', 'quiet hours, local Tokyo time, e.g. 21:00-08:00; none for the engine default')
      .option('--channel <channel>', `how the change reached the city (default counter): ${RECORDABLE_CONSENT_CHANNELS.join(', ')}`),
  async run({ opts }, ctx) {
    const name = CONSENT_PREFERENCES.name;
    const resident = requireOption(name, 'resident', opts.resident);
    const channel = channelOption(name, opts.channel, 'counter');
    const change: PreferencesChange = await asUsage(name, async () =>
      parsePreferencesChange({
        ...(opts.channels !== undefined ? { channels: splitChannels(opts.channels) } : {}),
        ...(opts.locale !== undefined ? { locale: opts.locale } : {}),
        ...(opts.quiet !== undefined ? { quietHours: opts.quiet } : {}),
      }),
    );
    const db = (await ctx.engine()).database.db;
    const result = await changeContactPreferences(db, resident, change, { channel, recordedBy: CLI_RECORDER });
    ctx.print(result.changed ? `contact preferences of ${resident} recorded` : `contact preferences of ${resident} unchanged`);
    for (const line of describePreferences(result.preferences)) ctx.print(`  ${line}`);
    return 0;
  },
});

export const CONSENT_COMMANDS = [CONSENT_GRANT, CONSENT_WITHDRAW, CONSENT_SHOW, CONSENT_PREFERENCES];
