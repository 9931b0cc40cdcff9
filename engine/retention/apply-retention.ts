/**
 * Retention: removes the personal data of outreach that ended longer ago than its purpose keeps it
 * (config/retention.ts), in batches, idempotently — a second run finds nothing more to do. Also the one
 * routine erasure uses (scope: everything of one resident). What goes: the contact data of the ledger
 * rows (addresses, SMTP replies, bounce recipients), letter contents and PDFs, rehearsal files, print
 * batch files once all their letters went, closed tasks' notes, and the payloads of events whose
 * outreach all ended. The audit log keeps ids, decisions and outcomes, and gets one record of the counts.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import type { RetentionConfig } from '../../config/retention';
import { removeDeliveryContactData } from '../../store/delivery-ledger';
import { removeTaskNotesOfOutreach } from '../../store/caseworker-tasks';
import {
  batchFilesToRemove,
  deliveriesToClear,
  eventsToClear,
  forgetBatchFiles,
  removeBounceAddresses,
  removeEventPayloads,
  removeLetterContents,
  removeUnmatchedBounceAddresses,
  type RetentionScope,
} from '../../store/retention';
import { writeAudit } from '../../store/audit';
import { MANIFEST_FILE } from '../../channels/letter/print-outbox';

const DAY_MS = 86_400_000;
export const RETENTION_BATCH_SIZE = 500;

/** What a run removed (or, dry, would remove). */
export interface RetentionCounts {
  deliveries: number;
  letters: number;
  bounces: number;
  taskNotes: number;
  eventPayloads: number;
  files: number;
  printBatches: number;
}

export function emptyCounts(): RetentionCounts {
  return { deliveries: 0, letters: 0, bounces: 0, taskNotes: 0, eventPayloads: 0, files: 0, printBatches: 0 };
}

/** The scope of a retention run at `now`: the cut-off of every purpose with its own setting, and the default. */
export function expiredScope(config: RetentionConfig, now: Date): RetentionScope {
  const cutoff = (days: number) => new Date(now.getTime() - days * DAY_MS);
  return {
    kind: 'expired',
    defaultCutoff: cutoff(config.days),
    cutoffByPurpose: Object.fromEntries(Object.entries(config.byPurpose).map(([purpose, days]) => [purpose, cutoff(days)])),
  };
}

export interface RetentionRun {
  dryRun?: boolean;
  batchSize?: number;
  /** Called after each batch (an activity heartbeats here). */
  onBatch?: (counts: RetentionCounts) => void;
}

/** Removes a file; true when there was one. */
async function removeFile(path: string): Promise<boolean> {
  try {
    await rm(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Removes what `scope` covers. Files go first, then the rows that name them, so a run cut short leaves
 * rows to find again rather than files nobody points to. Dry: counts what would go, changes nothing.
 */
export async function removePersonalData(db: Kysely<Database>, scope: RetentionScope, run: RetentionRun = {}): Promise<RetentionCounts> {
  const counts = emptyCounts();
  const limit = run.batchSize ?? RETENTION_BATCH_SIZE;
  for (let afterId = 0; ;) {
    const batch = await deliveriesToClear(db, scope, afterId, limit);
    if (batch.length === 0) break;
    afterId = batch[batch.length - 1]!.id;
    const ids = batch.map((d) => d.id);
    const outreachIds = [...new Set(batch.map((d) => d.outreachId))];
    if (run.dryRun) {
      counts.deliveries += batch.length;
      counts.files += batch.reduce((n, d) => n + d.files.length, 0);
    } else {
      for (const file of batch.flatMap((d) => d.files)) if (await removeFile(file)) counts.files += 1;
      await db.transaction().execute(async (tx) => {
        counts.letters += await removeLetterContents(tx, ids);
        counts.bounces += await removeBounceAddresses(tx, ids);
        counts.taskNotes += await removeTaskNotesOfOutreach(tx, outreachIds);
        counts.deliveries += await removeDeliveryContactData(tx, ids, new Date());
      });
    }
    run.onBatch?.(counts);
  }
  for (let afterId = ''; ;) {
    const events = await eventsToClear(db, scope, afterId, limit);
    if (events.length === 0) break;
    afterId = events[events.length - 1]!;
    counts.eventPayloads += run.dryRun ? events.length : await removeEventPayloads(db, events);
    run.onBatch?.(counts);
  }
  if (!run.dryRun) {
    counts.bounces += await removeUnmatchedBounceAddresses(db, scope);
    for (const batch of await batchFilesToRemove(db)) {
      const files = [...batch.files, ...batch.queueDirs.map((dir) => join(dir, MANIFEST_FILE))];
      let removed = 0;
      for (const file of files) if (await removeFile(file)) removed += 1;
      counts.files += removed;
      if ((await forgetBatchFiles(db, [batch.id])) > 0 || removed > 0) counts.printBatches += 1;
    }
  }
  return counts;
}

/** The daily retention run: everything past its purpose's retention at `now`, audited by counts only. */
export async function applyRetention(
  db: Kysely<Database>,
  config: RetentionConfig,
  options: RetentionRun & { now: Date; actor: string },
): Promise<RetentionCounts> {
  const counts = await removePersonalData(db, expiredScope(config, options.now), options);
  if (!options.dryRun) {
    await writeAudit(db, {
      actor: options.actor,
      action: 'retention-applied',
      detail: { now: options.now.toISOString(), retentionDays: config.days, byPurpose: config.byPurpose, removed: counts },
    });
  }
  return counts;
}
