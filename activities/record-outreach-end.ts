import type { ActivityDeps } from './activity-deps';
import { writeAudit } from '../store/audit';
import { recordConsentWithdrawal } from '../store/consent';
import { getRuleVersion } from '../engine/rule-language/rule-registry';
import { cancelLettersOfOutreach, LETTER_CANCELLING_STATES } from '../channels/letter/print-cancel';
import type { OutreachState, ResponseChannel, ResponseKind } from '../engine/outreach/outreach-contract';
import type { OutreachRef } from '../store/vocabulary';
import { outreachEnded } from '../foundation/metrics';

export interface OutreachEndInput extends OutreachRef {
  state: Exclude<OutreachState, 'running'>;
  response: ResponseKind | null;
  via: ResponseChannel | null;
}

export function makeRecordOutreachEnd(deps: ActivityDeps) {
  return async function recordOutreachEnd(input: OutreachEndInput): Promise<void> {
    const ids = { residentId: input.residentId, ruleId: input.ruleId, ruleVersion: input.ruleVersion, outreachId: input.outreachId };
    await deps.db
      .updateTable('outreach')
      .set({ status: input.state, response: input.response, ended_at: new Date() })
      .where('id', '=', input.outreachId)
      .execute();
    if (input.response === 'stop') {
      // "Stop these notices" is a withdrawal of consent for this purpose, in the resident's own words.
      const rule = await getRuleVersion(deps.db, input.ruleId, input.ruleVersion);
      // Through a link: the resident's own act; at the counter or by phone: recorded by the caseworker who took the answer.
      await recordConsentWithdrawal(deps.db, input.residentId, rule.purpose, {
        channel: input.via === 'link' || input.via === null ? 'link' : 'counter',
        recordedBy: input.via === 'link' || input.via === null ? 'resident' : 'caseworker',
        auditRefs: { via: input.via, ruleId: input.ruleId, ruleVersion: input.ruleVersion, outreachId: input.outreachId },
      });
    }
    // A letter still waiting for its print run must not reach someone who answered or may no longer be contacted.
    if (LETTER_CANCELLING_STATES.has(input.state)) {
      await cancelLettersOfOutreach(deps.db, input.outreachId, {
        actor: 'engine',
        reason: input.response ? `outreach ${input.state}: ${input.response}` : `outreach ${input.state}`,
      });
    }
    await writeAudit(deps.db, {
      actor: 'engine',
      action: 'outreach-ended',
      ...ids,
      detail: { state: input.state, response: input.response, via: input.via },
    });
    outreachEnded.inc({ rule: input.ruleId, state: input.state });
  };
}
