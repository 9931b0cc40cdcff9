import { ApplicationFailure } from '@temporalio/activity';
import { PushConfigurationError, sendPush } from '../channels/web-push';
import type { SendAttempt, SendRequest } from './send-attempt';

export async function sendPushNotice({ deps, rule, resident, ledger, vars }: SendRequest): Promise<SendAttempt> {
  const subscriptions = await deps.db.selectFrom('push_subscriptions').selectAll().where('resident_id', '=', resident.id).execute();
  if (subscriptions.length === 0) return { kind: 'unreachable', reason: 'no push subscription' };
  const rendered = deps.renderer.render(rule.templates, 'push', resident.locale, vars);
  if (rendered.channel !== 'push') throw new Error('renderer returned the wrong channel');
  let accepted = 0;
  const temporary: string[] = [];
  for (const sub of subscriptions) {
    let result;
    try {
      result = await sendPush(
        { endpoint: sub.endpoint, p256dh: sub.p256dh, auth: sub.auth },
        { ...rendered.content, tag: ledger.idempotency_key },
        deps.vapid,
        { ttlSeconds: 4 * 24 * 3600, urgency: 'normal', topic: rule.id.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 32) },
      );
    } catch (error) {
      // A malformed subscription row is this device's problem, not the outreach's.
      if (error instanceof PushConfigurationError) continue;
      throw error;
    }
    if (result.outcome === 'accepted') accepted += 1;
    else if (result.outcome === 'gone') {
      // The browser unsubscribed or the push service expired it: it will never work again.
      await deps.db.deleteFrom('push_subscriptions').where('id', '=', sub.id).execute();
    } else if (result.outcome === 'temporary-failure') temporary.push(result.message);
  }
  if (accepted > 0) return { kind: 'sent', providerRef: `${accepted}/${subscriptions.length} devices`, detail: { devices: accepted } };
  if (temporary.length > 0) {
    // Temporal retries the activity with backoff; the ledger row stays pending.
    throw ApplicationFailure.retryable(`push service temporarily failed: ${temporary.join('; ')}`, 'PushTemporaryFailure');
  }
  return { kind: 'unreachable', reason: 'every push subscription is gone or was refused' };
}
