/**
 * The register's import: residents and relationships from the city's resident
 * registry, created or updated row by row. A record with a problem changes
 * nothing and is reported by its line and field; the others apply — or, with
 * `allOrNothing`, nothing applies when any record has a problem. Importing the
 * same records again changes nothing (every record `unchanged`). Audit records
 * name ids and field names only.
 */
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { writeAudits, type AuditRecord } from '../../store/audit';
import {
  insertRegisterResidents,
  REGISTER_RESIDENT_COLUMNS,
  registerResidents,
  relationshipKey,
  relationshipsBetween,
  updateRegisterResident,
  upsertRelationships,
  type RegisterRelationship,
  type RegisterResident,
} from '../../store/register';
import { checkRecord, type PostalAddressCheck, type RawRecord, type RecordProblem, type RegisterRecord } from './register-records';
import { endOutreachOnStatus, type StatusEnd } from './register-changes';

/** Records of one file (or body), with the problems found while reading it. */
export interface ImportSource {
  /** The file's name as given, or `(body)`: problems are reported under it. */
  name: string;
  records: RawRecord[];
  problems: RecordProblem[];
}

export interface ImportOptions {
  allOrNothing: boolean;
  /** Who the audit log names (`cli:<user>`, `client:<id>`, `staff:<subject>`). */
  actor: string;
  /** Today in Asia/Tokyo (birth dates and status dates may not lie after it). */
  today: string;
  postalAddress?: PostalAddressCheck;
  /** Called as records are applied. */
  onProgress?: (done: number, total: number) => void;
}

export interface ImportProblem extends RecordProblem {
  source: string;
}

export interface ImportSummary {
  created: number;
  updated: number;
  unchanged: number;
  refused: number;
  /** False when `allOrNothing` held everything back. */
  applied: boolean;
  problems: ImportProblem[];
  /** Running outreach ended because the import moved a resident out or recorded a death. */
  stoppedOutreach: string[];
}

export interface ImportDeps {
  db: Kysely<Database>;
  /** Opened only if an import ends running outreach. */
  temporal: () => Promise<Client>;
}

const CHUNK = 500;

type Checked = RegisterRecord & { source: string };

/** Which register columns differ between what is stored and what the record says. */
function changedColumns(stored: RegisterResident, incoming: RegisterResident): Array<keyof RegisterResident> {
  return REGISTER_RESIDENT_COLUMNS.filter((c) => (stored[c] ?? null) !== (incoming[c] ?? null));
}

export async function importRegister(deps: ImportDeps, sources: readonly ImportSource[], options: ImportOptions): Promise<ImportSummary> {
  const problems: ImportProblem[] = sources.flatMap((s) => s.problems.map((p) => ({ ...p, source: s.name })));
  const checked: Checked[] = [];
  for (const source of sources) {
    for (const raw of source.records) {
      const result = checkRecord(raw, { today: options.today, postalAddress: options.postalAddress });
      if ('problems' in result) problems.push(...result.problems.map((p) => ({ ...p, source: source.name })));
      else checked.push({ ...result.record, source: source.name });
    }
  }

  // Across records: a resident or a relationship given twice, a relationship naming nobody in the register.
  const residents: Array<Checked & { kind: 'resident' }> = [];
  const firstOf = new Map<string, string>();
  const refuse = (r: Checked, field: string, reason: string) => problems.push({ source: r.source, line: r.line, field, reason });
  for (const r of checked) {
    if (r.kind !== 'resident') continue;
    const first = firstOf.get(r.resident.id);
    if (first) refuse(r, 'resident_id', `appears again (first at ${first}); give each resident once`);
    else {
      firstOf.set(r.resident.id, `${r.source}:${r.line}`);
      residents.push(r);
    }
  }
  const candidates = checked.filter((r): r is Checked & { kind: 'relationship' } => r.kind === 'relationship');
  const referenced = [...new Set(candidates.flatMap((r) => [r.relationship.from_resident_id, r.relationship.to_resident_id]))].filter((id) => !firstOf.has(id));
  const inRegister = new Set<string>();
  for (let i = 0; i < referenced.length; i += CHUNK) {
    for (const id of (await registerResidents(deps.db, referenced.slice(i, i + CHUNK))).keys()) inRegister.add(id);
  }
  const relationships: Array<Checked & { kind: 'relationship' }> = [];
  const firstRelationship = new Map<string, string>();
  for (const r of candidates) {
    const rel = r.relationship;
    const missing = (['from_resident_id', 'to_resident_id'] as const).filter((f) => !firstOf.has(rel[f]) && !inRegister.has(rel[f]));
    for (const field of missing) refuse(r, field, 'no such resident in the register or among the accepted records of this import');
    if (missing.length > 0) continue;
    const key = relationshipKey(rel);
    const first = firstRelationship.get(key);
    if (first) refuse(r, 'kind', `the same relationship appears again (first at ${first})`);
    else {
      firstRelationship.set(key, `${r.source}:${r.line}`);
      relationships.push(r);
    }
  }

  const refused = new Set(problems.map((p) => `${p.source}\u0000${p.line}`)).size;
  const order = new Map(sources.map((s, i) => [s.name, i]));
  problems.sort((a, b) => order.get(a.source)! - order.get(b.source)! || a.line - b.line);
  const summary: ImportSummary = { created: 0, updated: 0, unchanged: 0, refused, applied: false, problems, stoppedOutreach: [] };
  if (options.allOrNothing && problems.length > 0) return summary;

  const total = residents.length + relationships.length;
  const ends: StatusEnd[] = [];
  await deps.db.transaction().execute(async (tx) => {
    const audits: AuditRecord[] = [];
    let done = 0;
    for (let i = 0; i < residents.length; i += CHUNK) {
      const chunk = residents.slice(i, i + CHUNK).map((r) => r.resident);
      const stored = await registerResidents(
        tx,
        chunk.map((r) => r.id),
        { lock: true },
      );
      const created = chunk.filter((r) => !stored.has(r.id));
      await insertRegisterResidents(tx, created);
      for (const r of created) audits.push({ actor: options.actor, action: 'register-resident-created', residentId: r.id, detail: { via: 'import' } });
      summary.created += created.length;
      for (const r of chunk) {
        const before = stored.get(r.id);
        if (!before) continue;
        const changed = changedColumns(before, r);
        if (changed.length === 0) {
          summary.unchanged += 1;
          continue;
        }
        await updateRegisterResident(tx, r.id, Object.fromEntries(changed.map((c) => [c, r[c]])) as Partial<RegisterResident>);
        summary.updated += 1;
        audits.push({ actor: options.actor, action: 'register-resident-updated', residentId: r.id, detail: { via: 'import', fields: changed } });
        if (before.residence_status !== r.residence_status) {
          audits.push({
            actor: options.actor,
            action: 'residence-status-changed',
            residentId: r.id,
            detail: { from: before.residence_status, to: r.residence_status, via: 'import' },
          });
          if (r.residence_status !== 'registered') ends.push({ residentId: r.id, status: r.residence_status });
        }
      }
      done += chunk.length;
      options.onProgress?.(done, total);
    }
    for (let i = 0; i < relationships.length; i += CHUNK) {
      const chunk = relationships.slice(i, i + CHUNK).map((r) => r.relationship);
      const stored = await relationshipsBetween(tx, chunk);
      const changed: RegisterRelationship[] = [];
      for (const rel of chunk) {
        const before = stored.get(relationshipKey(rel));
        if (before && before.since === rel.since && before.until === rel.until && (before.proxy_mode ?? null) === (rel.proxy_mode ?? null)) {
          summary.unchanged += 1;
          continue;
        }
        changed.push(rel);
        if (before) summary.updated += 1;
        else summary.created += 1;
        audits.push({
          actor: options.actor,
          action: before ? 'relationship-updated' : 'relationship-recorded',
          residentId: rel.to_resident_id,
          detail: { via: 'import', kind: rel.kind, from: rel.from_resident_id, to: rel.to_resident_id },
        });
      }
      await upsertRelationships(tx, changed, `import:${options.actor}`);
      done += chunk.length;
      options.onProgress?.(done, total);
    }
    audits.push({
      actor: options.actor,
      action: 'register-imported',
      detail: {
        sources: sources.length,
        created: summary.created,
        updated: summary.updated,
        unchanged: summary.unchanged,
        refused: summary.refused,
        allOrNothing: options.allOrNothing,
      },
    });
    for (let i = 0; i < audits.length; i += CHUNK) await writeAudits(tx, audits.slice(i, i + CHUNK));
  });
  summary.applied = true;
  summary.stoppedOutreach = await endOutreachOnStatus(deps, ends);
  return summary;
}
