import type { ActivityDeps } from './activity-deps';
import type { Delivery, Resident } from '../store/schema';
import type { Rule } from '../engine/rule-language/rule-schema';
import type { NoticeVariables } from '../engine/notices/render-notice';
import type { NoticeVariant } from '../engine/notices/late-notice';
import type { NoticeScheme } from './merge-notices';

/**
 * What a channel did with one notice. `sent`: accepted (provider reference for
 * the ledger). `unreachable`: this resident cannot be reached on this channel
 * (no address, address invalid, subscription gone) — the plan moves on at once.
 * A temporary failure is thrown instead, for Temporal to retry with backoff.
 */
export type SendAttempt =
  { kind: 'sent'; providerRef: string; detail: Record<string, unknown> } | { kind: 'unreachable'; reason: string; detail?: Record<string, unknown> };

/** Everything one channel needs to send one notice; built by deliverNotice. */
export interface SendRequest {
  deps: ActivityDeps;
  rule: Rule;
  resident: Resident;
  ledger: Delivery;
  vars: NoticeVariables;
  /** 'late': the late-application notice, for an event that arrived after the rule's deadline (late-notice.ts). */
  variant?: NoticeVariant;
  /** The outreach's clock (plan days), for TTLs and holds. */
  msPerDay: number;
  /** Merged notices: the other schemes this message carries after its own (merge-notices.ts); absent, a notice of its own. */
  carried?: NoticeScheme[];
  /**
   * Called by a channel whose hand-over cannot be undone (email, push) immediately before it hands the
   * notice over, once or more; it marks the ledger row (delivery-ledger.ts beginHandover). Absent outside
   * deliverNotice (scripts, tests).
   */
  handingOver?: () => Promise<void>;
  /**
   * Called by such a channel when it answered that it did not take the notice (an SMTP 4xx or 5xx, a push
   * service's failure on every device): the mark is cleared, so that a retry may hand it over again. Any
   * other way out of a hand-over (the process dies, the database fails after the channel took it) leaves
   * the mark, and the retry settles the send as unconfirmed instead of sending it twice.
   */
  notTaken?: () => Promise<void>;
}

/** Parts rendered in a fallback locale (easy Japanese → Japanese), for the ledger and the audit log. */
export function fallbackDetail(rendered: { fallbacks: ReadonlyArray<unknown> }): Record<string, unknown> {
  return rendered.fallbacks.length > 0 ? { localeFallbacks: rendered.fallbacks } : {};
}
