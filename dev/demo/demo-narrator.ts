import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { AuditEntry, Channel, Database } from '../../store/schema';
import type { RedactedExplanation } from '../../engine/rule-language/redact-explanation';
import { describeExplanation } from '../../engine/rule-language/explain-text';

export interface NarratorOptions {
  db: Kysely<Database>;
  msPerDay: number;
  startedAt: number;
  smtpDir: string;
  pushDir: string;
  names: Map<string, string>;
  devices: Map<string, string>;
  out: (line: string) => void;
}

/**
 * Tells the demo's story from the audit log: everything printed here is what
 * the engine recorded, not what the demo expected.
 */
export class DemoNarrator {
  private lastId = 0;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> = Promise.resolve();
  readonly files: Array<{ residentId: string; kind: Channel; path: string }> = [];

  constructor(private readonly o: NarratorOptions) {}

  start(): void {
    this.timer = setInterval(() => {
      this.polling = this.polling.then(() => this.poll()).catch((e: unknown) => this.o.out(`  (narrator: ${String(e)})`));
    }, 150);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.polling;
    await this.poll();
  }

  private async poll(): Promise<void> {
    const entries = await this.o.db.selectFrom('audit_log').selectAll().where('id', '>', this.lastId).orderBy('id').execute();
    for (const entry of entries) {
      this.lastId = entry.id;
      for (const line of this.describe(entry)) this.o.out(line);
    }
  }

  private who(residentId: string | null): string {
    return residentId ? `${residentId} ${this.o.names.get(residentId) ?? ''}`.trim() : '';
  }

  private describe(e: AuditEntry): string[] {
    const day = ((e.at.getTime() - this.o.startedAt) / this.o.msPerDay).toFixed(1).padStart(5);
    const head = `[day ${day}]`;
    const d = e.detail as Record<string, unknown>;
    const who = this.who(e.resident_id);
    const rule = e.rule_id ? `${e.rule_id} v${e.rule_version}` : '';
    switch (e.action) {
      case 'event-received':
        return [`${head} life event: ${String(d.type)} registered for ${who} (event ${String(d.eventId)})`];
      case 'outreach-started': {
        // The audit log keeps which conditions held, not the resident's values.
        const why = d.explanation ? describeExplanation(d.explanation as RedactedExplanation, '             ') : [];
        const consent = d.consent as { purpose: string; grantedAt: string } | undefined;
        const via = d.via === 'daily-evaluation' ? ` by the daily evaluation of ${String(d.on)}` : '';
        return [
          `${head} MATCH ${who} ← ${rule}; outreach started${via}`,
          ...why,
          ...(consent ? [`             consent: ${consent.purpose} (given ${consent.grantedAt?.slice(0, 10) ?? '?'})`] : []),
        ];
      }
      case 'rule-not-matched':
        return [
          `${head} no match: ${who} for ${rule}${d.reason ? ` (${String(d.reason)})` : ''}`,
          ...(d.explanation ? describeExplanation(d.explanation as RedactedExplanation, '             ') : []),
        ];
      case 'not-contacted':
        return [`${head} NOT CONTACTED: ${who} for ${rule}: ${String(d.reason)}`];
      case 'notice-sent':
        return this.describeSend(head, `${who} [${e.rule_id}]`, e.resident_id ?? '', d);
      case 'suppression-placed':
        return [`${head} HOLD placed by ${rule}: household ${String(d.household)} gets nothing for ${String(d.purpose)} for ${String(d.days)} days`];
      case 'send-held-back':
        return [`${head} held back: ${String(d.channel)} to ${who} for ${rule} (${String(d.reason)})`];
      case 'channel-unreachable':
        return [`${head} ${String(d.channel)} cannot reach ${who} (${String(d.reason)}) → next channel`];
      case 'send-blocked':
        return [`${head} send blocked for ${who}: ${String(d.reason)}`];
      case 'response-received':
        return [`${head} RESPONSE from ${who}: "${String(d.response)}" via ${String(d.via)}`];
      case 'consent-withdrawn':
        return [`${head} consent for ${String(d.purpose)} withdrawn by ${who}`];
      case 'task-opened':
        return [`${head} CASEWORKER TASK #${String(d.taskId)} opened for ${who} (${rule}): ${String(d.kind)}`];
      case 'outreach-ended':
        return [`${head} outreach ${rule} for ${who} ended: ${String(d.state)}${d.response ? ` (${String(d.response)})` : ''}`];
      default:
        return [];
    }
  }

  private describeSend(head: string, who: string, residentId: string, d: Record<string, unknown>): string[] {
    const channel = String(d.channel);
    if (d.carriedBy !== undefined) {
      // A merged notice: this scheme went out inside the message of another ledger row, already told as it was sent
      // (its record names no device, file or letter of its own).
      return [`${head} ${channel.toUpperCase()} for ${who}: carried in the same message (ledger row ${String(d.carriedBy)})`];
    }
    if (channel === 'email') {
      const file = this.findEmail(String(d.providerRef));
      if (file) this.files.push({ residentId, kind: 'email', path: file });
      return [`${head} EMAIL sent to ${who} (${String(d.locale)}) → SMTP server stored ${file ?? '(not found!)'}`];
    }
    if (channel === 'push') {
      const lines = [`${head} PUSH sent to ${who} (${String(d.devices)} device)`];
      const deviceId = this.o.devices.get(residentId);
      const dir = deviceId ? join(this.o.pushDir, 'received', deviceId) : null;
      if (dir && existsSync(dir)) {
        const last = readdirSync(dir)
          .filter((f) => f.endsWith('.json'))
          .sort()
          .at(-1);
        if (last) {
          const path = join(dir, last);
          const record = JSON.parse(readFileSync(path, 'utf8')) as { payload: { title: string; body: string }; vapid: { verified: boolean } };
          this.files.push({ residentId, kind: 'push', path });
          lines.push(
            `             receiver decrypted: “${record.payload.title}” — “${record.payload.body}” (VAPID verified: ${record.vapid.verified}) → ${path}`,
          );
        }
      }
      return lines;
    }
    this.files.push({ residentId, kind: 'letter', path: String(d.pdfPath) });
    return [`${head} LETTER for ${who} → print outbox ${String(d.pdfPath)}`];
  }

  private findEmail(messageId: string): string | null {
    for (const file of readdirSync(this.o.smtpDir).filter((f) => f.endsWith('.eml'))) {
      const path = join(this.o.smtpDir, file);
      if (readFileSync(path, 'utf8').includes(`Message-ID: ${messageId}`)) return path;
    }
    return null;
  }
}
