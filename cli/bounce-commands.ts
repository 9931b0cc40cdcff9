import { readFileSync, statSync } from 'node:fs';
import { ingestBounceDetailed, InvalidBounceError, type BounceOutcome } from '../channels/email/email-bounces';
import { defineCommand, UsageError } from './cli-support';

/** Larger than any report with a returned message; refuses to slurp, say, a mailbox file by mistake. */
const MAX_FILE_BYTES = 20 * 1024 * 1024;

const OUTCOME_TEXT: Record<BounceOutcome, string> = {
  'address-invalid': 'address marked invalid',
  'delivery-failed': 'delivery failed; address kept',
  delayed: 'delayed; nothing changed',
  'address-changed': 'the resident has another address now; ledger updated',
  ignored: 'success report; ignored',
  unmatched: 'no notice of ours matches; kept for review',
  duplicate: 'already ingested',
};

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function readMessage(file: string): Promise<Buffer> | Buffer {
  if (file === '-') return readStdin();
  const size = statSync(file).size;
  if (size > MAX_FILE_BYTES) throw new InvalidBounceError(`${size} bytes is larger than any bounce (limit ${MAX_FILE_BYTES})`);
  return readFileSync(file);
}

export const BOUNCES_INGEST = defineCommand<{ json?: boolean }>({
  name: 'bounces ingest',
  summary:
    'Apply bounce messages (delivery status notifications, as received): a permanent failure marks the address invalid; the ledger and the audit log record it.',
  usage: 'FILE.eml ... | -   (- reads one message from standard input, e.g. piped from the mail server)',
  arguments: '[FILES...]',
  options: (cmd) => cmd.option('--json', 'one JSON line per message'),
  async run({ args: positionals, opts: values }, ctx) {
    const spec = BOUNCES_INGEST;
    if (positionals.length === 0) throw new UsageError(spec.name, 'give one or more FILE.eml (or - to read one from standard input)');
    const db = (await ctx.engine()).database.db;
    let failed = 0;
    for (const file of positionals) {
      const name = file === '-' ? '(stdin)' : file;
      try {
        // Staff-side: the ledger row matched is printed (the ledger and the audit log say the rest);
        // the outreach is not, so a terminal log or a pasted line names no resident's case.
        const { result, deliveryId } = await ingestBounceDetailed(db, await readMessage(file), { actor: ctx.actor });
        if (values.json) {
          ctx.print(JSON.stringify({ file: name, ...result, deliveryId }));
          continue;
        }
        for (const r of result.recipients) {
          ctx.print(`${name}: ${r.recipient} ${r.action} ${r.status} → ${OUTCOME_TEXT[r.outcome]}${deliveryId === null ? '' : ` (delivery ${deliveryId})`}`);
        }
      } catch (error) {
        // One line per bad file, and the others still go in.
        const code = (error as NodeJS.ErrnoException | null)?.code;
        if (error instanceof InvalidBounceError) ctx.err(`${name}: not ingested: ${error.message}`);
        else if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') ctx.err(`${name}: cannot read (${code})`);
        else throw error;
        failed += 1;
      }
    }
    return failed > 0 ? 1 : 0;
  },
});

/** `bounces ingest` with an argv, as on the command line. */
export const bouncesIngest = BOUNCES_INGEST.invoke;

export const BOUNCE_COMMANDS = [BOUNCES_INGEST];
