/**
 * Who receives a notice due to a resident: the resident, or their proxies (代理人) as the register records
 * them — a family carer (`carer_of`) or a legal representative (`legal_representative_of`) with a proxy mode
 * (migration 0015): `instead` of the resident, or a `copy` besides them.
 *
 * The send path (activities/deliver-notice.ts) asks this before every send step and sends to each recipient
 * on their own ledger row, with their own consent, preferences and language (README, "Proxies").
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { PROXY_KINDS, type ProxyMode } from '../../store/vocabulary';
import { relationshipInForceSql } from '../rule-language/compile-sql';

export type ProxyKind = (typeof PROXY_KINDS)[number];

/** A proxy of a resident for notices, in force on the day asked about. */
export interface Proxy {
  proxyId: string;
  kind: ProxyKind;
  mode: ProxyMode;
}

/** One recipient of a notice due to a resident: the resident themself, or a proxy acting for them. */
export type NoticeRecipient = { residentId: string; role: 'resident' } | { residentId: string; role: 'proxy'; onBehalfOf: string; relation: ProxyKind };

/**
 * The recipients of a notice due to `residentId`, given their proxies: without a proxy, the resident; with a
 * `copy` proxy, the resident and the proxy; with an `instead` proxy, the proxies only (a copy proxy still gets
 * theirs). The resident first, then proxies by id. Pure: the same proxies always give the same recipients.
 */
export function noticeRecipients(residentId: string, proxies: readonly Proxy[]): NoticeRecipient[] {
  const insteadOfResident = proxies.some((p) => p.mode === 'instead');
  const byProxy = [...proxies]
    .filter((p) => p.proxyId !== residentId)
    .sort((a, b) => (a.proxyId < b.proxyId ? -1 : a.proxyId > b.proxyId ? 1 : 0))
    .map((p): NoticeRecipient => ({ residentId: p.proxyId, role: 'proxy', onBehalfOf: residentId, relation: p.kind }));
  return insteadOfResident ? byProxy : [{ residentId, role: 'resident' }, ...byProxy];
}

/**
 * The resident's proxies for notices on a day (Asia/Tokyo): relationships to them with a proxy mode, in force
 * that day (relationshipInForce of evaluate-rule.ts: since on or before, until after), from a proxy who has not died. A proxy
 * need not live in the resident's household (a carer often does not).
 */
export async function proxiesOf(db: Kysely<Database>, residentId: string, on: string): Promise<Proxy[]> {
  const rows = await db
    .selectFrom('resident_relationships as g')
    .innerJoin('residents as p', 'p.id', 'g.from_resident_id')
    .select(['g.from_resident_id', 'g.kind', 'g.proxy_mode'])
    .where('g.to_resident_id', '=', residentId)
    .where(relationshipInForceSql('g', sql`${on}::date`))
    .where('g.proxy_mode', 'is not', null)
    .where('g.kind', 'in', [...PROXY_KINDS])
    .where('p.residence_status', '<>', 'deceased')
    .orderBy('g.from_resident_id')
    .execute();
  return rows.map((r) => ({ proxyId: r.from_resident_id, kind: r.kind as ProxyKind, mode: r.proxy_mode! }));
}
