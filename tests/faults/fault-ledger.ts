/**
 * What a fault run is judged by, the Jepsen way: what the engine acknowledged against what arrived.
 * Arrivals are counted where they arrive — the messages the SMTP server stored (by Message-ID, which
 * derives from the ledger key, so a second send of one notice carries the same id), the pushes the
 * receiver decrypted (by tag, the ledger key) and the lines of the print manifests — never ledger rows.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { simpleParser } from 'mailparser';
import { TEST_DELIVERY_TOKEN_KEY, type TestEngine } from '../support/test-engine';
import { messageIdFor } from '../../channels/email/email';

export interface FaultFigures {
  fault: string;
  /** Outreach the run started. */
  outreach: number;
  /** Outreach that reached an end state (answered, deadline passed, stopped). */
  ended: number;
  /** Deliveries the ledger records as accepted by their channel (sent, confirmed). */
  expected: number;
  /**
   * Deliveries handed over by an attempt that stopped before recording the answer (sent, unconfirmed):
   * never sent again, so each may have arrived once or not at all — neither is a duplicate or a loss.
   */
  unconfirmed: number;
  /** Distinct deliveries that arrived. */
  made: number;
  /** Arrivals beyond the first of the same delivery. */
  duplicates: number;
  /** Outreach that never ended, plus deliveries acknowledged that never arrived. */
  losses: number;
  /** What the duplicates and losses were, named (not printed on the figures' line). */
  findings?: FaultFinding[];
}

/** A delivery that arrived more than once, or was acknowledged and never arrived: what the report names. */
export interface FaultFinding {
  kind: 'duplicate' | 'loss';
  idempotencyKey: string;
  channel: string;
  ledgerStatus: string;
  arrivals: number;
}

/** Prints one line per fault (the suite's report) and answers the figures for the test to judge. */
export function report(figures: FaultFigures): FaultFigures {
  const { fault, findings = [], ...rest } = figures;
  process.stderr.write(
    `FAULT ${fault}: ${Object.entries(rest)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}\n`,
  );
  for (const f of findings) {
    process.stderr.write(`  ${f.kind} ${f.idempotencyKey} (${f.channel}): ledger ${f.ledgerStatus}, arrived ${f.arrivals} times\n`);
  }
  return figures;
}

/** Counts the acknowledged and arrived deliveries of the given outreach. */
export async function countDeliveries(
  engine: TestEngine,
  fault: string,
  outreachIds: string[],
  devices: string[],
  options: { smtpDir?: string } = {},
): Promise<FaultFigures> {
  const rows = await engine.db
    .selectFrom('deliveries')
    .select(['idempotency_key', 'channel', 'status', 'detail', 'outreach_id'])
    .where('outreach_id', 'in', outreachIds)
    .execute();
  const outreach = await engine.db.selectFrom('outreach').select(['id', 'status']).where('id', 'in', outreachIds).execute();
  const isUnconfirmed = (r: (typeof rows)[number]) => r.status === 'sent' && 'unconfirmed' in r.detail;
  const sent = rows.filter((r) => r.status === 'sent' && !isUnconfirmed(r));

  // Email: every stored message, grouped by Message-ID.
  // Every email row of the run, acknowledged or not: a message that arrived for a row never marked sent still arrived.
  const wanted = new Set(rows.filter((r) => r.channel === 'email').map((r) => messageIdFor(r.idempotency_key, TEST_DELIVERY_TOKEN_KEY)));
  const mailSeen = new Map<string, number>();
  const dir = options.smtpDir ?? inject('smtpDir');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.eml'))) {
    const mail = await simpleParser(readFileSync(join(dir, file)));
    const id = mail.messageId ?? '';
    if (wanted.has(id)) mailSeen.set(id, (mailSeen.get(id) ?? 0) + 1);
  }
  // Push: every decrypted push of the run's devices, grouped by tag (the ledger key).
  const pushSeen = new Map<string, number>();
  for (const device of devices) {
    const received = (await (await fetch(`${inject('pushReceiverUrl')}/received/${device}`)).json()) as Array<{ payload: { tag: string } }>;
    for (const p of received) pushSeen.set(p.payload.tag, (pushSeen.get(p.payload.tag) ?? 0) + 1);
  }
  // Letters: the manifest lines naming each letter's key.
  const letterSeen = new Map<string, number>();
  // One manifest a print day, shared by its letters: each read once.
  const manifests = new Map<string, string[]>();
  const manifestLines = (path: string) => manifests.get(path) ?? manifests.set(path, readFileSync(path, 'utf8').split('\n')).get(path)!;
  for (const r of rows.filter((r) => r.channel === 'letter' && r.status === 'sent')) {
    const manifest = (r.detail as { manifestPath?: string }).manifestPath;
    const lines = manifest ? manifestLines(manifest).filter((l) => l.includes(r.idempotency_key)).length : 0;
    letterSeen.set(r.idempotency_key, lines);
  }

  const extra = (seen: Map<string, number>) => [...seen.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
  const made =
    mailSeen.size +
    [...pushSeen.keys()].filter((tag) => outreachIds.some((o) => tag.startsWith(`${o}#`))).length +
    [...letterSeen.values()].filter((n) => n > 0).length;
  const arrivalsOf = (r: (typeof rows)[number]): number =>
    r.channel === 'email'
      ? (mailSeen.get(messageIdFor(r.idempotency_key, TEST_DELIVERY_TOKEN_KEY)) ?? 0)
      : r.channel === 'push'
        ? (pushSeen.get(r.idempotency_key) ?? 0)
        : (letterSeen.get(r.idempotency_key) ?? 0);
  const neverArrived = sent.filter((r) => arrivalsOf(r) === 0);
  const finding = (kind: FaultFinding['kind'], r: (typeof rows)[number]): FaultFinding => ({
    kind,
    idempotencyKey: r.idempotency_key,
    channel: r.channel,
    ledgerStatus: r.status,
    arrivals: arrivalsOf(r),
  });
  const findings = [...rows.filter((r) => arrivalsOf(r) > 1).map((r) => finding('duplicate', r)), ...neverArrived.map((r) => finding('loss', r))];
  const ended = outreach.filter((o) => o.status !== 'active').length;
  return {
    fault,
    outreach: outreachIds.length,
    ended,
    expected: sent.length,
    unconfirmed: rows.filter(isUnconfirmed).length,
    made,
    duplicates: extra(mailSeen) + extra(pushSeen) + extra(letterSeen),
    losses: outreachIds.length - ended + neverArrived.length,
    findings,
  };
}
