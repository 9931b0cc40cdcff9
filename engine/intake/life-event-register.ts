/**
 * What a life event changes in the register, in the same transaction as the
 * event is stored (engine/intake/accept-life-event.ts):
 *
 * - a birth that names its child (`payload.child_id`, `child_given_name`, …)
 *   adds the child to the resident's household — born on the event's date, at
 *   the household's address, in the resident's language — with the resident
 *   as `guardian_of` the child from that day;
 * - a move-out makes the resident `moved-out` from the event's date;
 * - a death in the household that names who died (`payload.deceased_resident_id`,
 *   a member of the resident's household) makes them `deceased` and ends their
 *   relationships on that day.
 *
 * A resident who moved out or died then has their running outreach ended with
 * that reason (engine/register/register-changes.ts), after the commit; the
 * move-out's own notices (its moving-out procedures) keep running.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { writeAudits, type AuditRecord } from '../../store/audit';
import { endRelationshipsOf, insertRegisterResidents, registerResidents, setResidenceStatus, upsertRelationships } from '../../store/register';
import { InvalidInputError, type LifeEvent } from './life-event-schema';
import type { StatusEnd } from '../register/register-changes';

const text = (value: unknown): string | null => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);

/** Whether the event changes the register at all (only then does storing it need a transaction of its own). */
export function changesRegister(event: LifeEvent): boolean {
  return (
    (event.type === 'birth' && text(event.payload.child_id) !== null) ||
    event.type === 'moved-out' ||
    (event.type === 'death-in-household' && text(event.payload.deceased_resident_id) !== null)
  );
}

/** The residents whose running outreach the event ends (also for a repeat of it: the first one's stops may not have happened). */
export function statusEndsOf(event: LifeEvent): StatusEnd[] {
  if (event.type === 'moved-out') return [{ residentId: event.residentId, status: 'moved-out', exceptEventId: event.id }];
  const deceased = event.type === 'death-in-household' ? text(event.payload.deceased_resident_id) : null;
  return deceased ? [{ residentId: deceased, status: 'deceased' }] : [];
}

/**
 * Applies a newly stored event to the register, on the event's transaction.
 * Throws InvalidInputError (naming the payload field, not its value) when
 * the register cannot take it; the caller's transaction then stores nothing.
 */
export async function applyLifeEventToRegister(tx: Kysely<Database>, event: LifeEvent, source: string): Promise<void> {
  const recordedBy = `event:${event.id}`;
  const audits: AuditRecord[] = [];
  const base = { actor: source, detail: { via: 'event', eventId: event.id } };

  if (event.type === 'birth') {
    const childId = text(event.payload.child_id);
    if (!childId) return;
    const found = await registerResidents(tx, [event.residentId, childId], { lock: true });
    const parent = found.get(event.residentId);
    if (!parent) throw new InvalidInputError(source, [`residentId: no resident ${event.residentId} in the register`]);
    if (childId === event.residentId) throw new InvalidInputError(source, ['payload.child_id: is the resident the event is about, not their child']);
    const child = found.get(childId);
    if (child && (child.household_id !== parent.household_id || child.birth_date !== event.occurredOn)) {
      throw new InvalidInputError(source, [
        `payload.child_id: resident ${childId} is in the register already with another household or birth date; correct the register first`,
      ]);
    }
    if (!child) {
      await insertRegisterResidents(tx, [
        {
          id: childId,
          household_id: parent.household_id,
          family_name: text(event.payload.child_family_name) ?? parent.family_name,
          given_name: text(event.payload.child_given_name)!,
          family_name_kana: text(event.payload.child_family_name_kana) ?? (text(event.payload.child_family_name) ? null : parent.family_name_kana),
          given_name_kana: text(event.payload.child_given_name_kana),
          birth_date: event.occurredOn,
          locale: parent.locale,
          email: null,
          postal_code: parent.postal_code,
          address: parent.address,
          ward: parent.ward,
          residence_status: 'registered',
          residence_status_on: null,
          // The household's bracket (municipal tax assessment of the household).
          income_bracket: parent.income_bracket,
          insurance_type: null,
          disability_certificate: false,
          moved_in_on: null,
        },
      ]);
      audits.push({ ...base, action: 'register-resident-created', residentId: childId });
    }
    await upsertRelationships(
      tx,
      [{ kind: 'guardian_of', from_resident_id: parent.id, to_resident_id: childId, since: event.occurredOn, until: null }],
      recordedBy,
    );
    audits.push({
      ...base,
      action: 'relationship-recorded',
      residentId: childId,
      detail: { ...base.detail, kind: 'guardian_of', from: parent.id, to: childId },
    });
  } else if (event.type === 'moved-out') {
    const before = await setResidenceStatus(tx, event.residentId, 'moved-out', event.occurredOn);
    if (before !== null && before !== 'moved-out') {
      audits.push({ ...base, action: 'residence-status-changed', residentId: event.residentId, detail: { ...base.detail, from: before, to: 'moved-out' } });
    }
  } else if (event.type === 'death-in-household') {
    const deceasedId = text(event.payload.deceased_resident_id);
    if (!deceasedId) return;
    if (deceasedId === event.residentId) {
      throw new InvalidInputError(source, ['payload.deceased_resident_id: is the resident the event is about; the event goes to a surviving member']);
    }
    const found = await registerResidents(tx, [event.residentId, deceasedId]);
    const deceased = found.get(deceasedId);
    if (!deceased || deceased.household_id !== found.get(event.residentId)?.household_id) {
      throw new InvalidInputError(source, [`payload.deceased_resident_id: no resident ${deceasedId} in the household of resident ${event.residentId}`]);
    }
    const before = await setResidenceStatus(tx, deceasedId, 'deceased', event.occurredOn);
    if (before !== null && before !== 'deceased') {
      audits.push({ ...base, action: 'residence-status-changed', residentId: deceasedId, detail: { ...base.detail, from: before, to: 'deceased' } });
    }
    const ended = await endRelationshipsOf(tx, deceasedId, event.occurredOn, recordedBy);
    if (ended > 0) audits.push({ ...base, action: 'relationships-ended', residentId: deceasedId, detail: { ...base.detail, count: ended } });
  }
  await writeAudits(tx, audits);
}
