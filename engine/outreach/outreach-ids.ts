/**
 * The outreach id, which is also the Temporal workflow id. Derived from
 * (rule, resident, occurrence) so a duplicate event or a re-run of a schedule
 * maps onto the same workflow and starts nothing new. Resident ids are opaque
 * registry numbers, never names.
 */
export function outreachIdFor(ruleId: string, residentId: string, occurrenceKey: string): string {
  return `outreach:${ruleId}:${residentId}:${occurrenceKey}`;
}
