/**
 *   oshirase consent withdraw --resident R-1001 --purpose child-benefits
 */
import { withdrawConsentAndStopOutreach } from '../engine/outreach/withdraw-consent';
import { defineCommand, requireOption } from './cli-support';

export const CONSENT_WITHDRAW = defineCommand<{ resident?: string; purpose?: string }>({
  name: 'consent withdraw',
  summary: "Record a resident's withdrawal of consent for a purpose; their running outreach for it ends at once.",
  usage: '--resident ID --purpose PURPOSE',
  options: (cmd) => cmd.option('--resident <id>', 'the resident').option('--purpose <purpose>', 'the purpose consent is withdrawn for'),
  async run({ opts }, ctx) {
    const resident = requireOption(CONSENT_WITHDRAW.name, 'resident', opts.resident);
    const purpose = requireOption(CONSENT_WITHDRAW.name, 'purpose', opts.purpose);
    const temporal = await ctx.temporal();
    const context = await ctx.engine();
    const result = await withdrawConsentAndStopOutreach({ db: context.database.db, temporal }, resident, purpose, 'caseworker:cli');
    ctx.print(result.withdrawn ? `consent of ${resident} for ${purpose} withdrawn` : `${resident} had no consent in force for ${purpose}`);
    for (const id of result.stopped) ctx.print(`  stopped ${id}`);
    return 0;
  },
});

export const CONSENT_COMMANDS = [CONSENT_WITHDRAW];
