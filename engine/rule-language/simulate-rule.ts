import { sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import type { ParameterSet } from './parameters';
import type { Rule } from './rule-schema';
import { matchPopulation } from './compile-sql';
import { explainResident, type ResidentExplanation } from './explain-resident';
import { describeEvaluation } from './explain-text';
import { planPartitions } from './partitions';
import { table } from '../../foundation/text-table';
import { ruleEvaluationDuration, secondsSince } from '../../foundation/metrics';
import { consentInForceSql } from '../../store/consent';

export interface SimulationResult {
  ruleId: string;
  ruleVersion: number;
  purpose: string;
  on: string;
  /** For event rules: every resident is evaluated as if the event happened to them on the date. */
  supposedEvent: string | null;
  population: number;
  /** Residents holding consent for the rule's purpose: the only ones evaluated. */
  consentedPopulation: number;
  /** Residents without that consent: not evaluated at all, so nothing is known of whether the rule would hold for them. */
  notEvaluated: number;
  /** Consented residents the rule matches: who would be contacted. */
  matched: number;
  byWard: Record<string, number>;
  byFirstChannel: Record<string, number>;
  /** By the language their notices would be in. */
  byLocale: Record<string, number>;
  /**
   * Letters the plan would print: `atOnce` for residents no earlier channel of the plan reaches (their first
   * notice is a letter), `atMost` if nobody answered before the plan's letter step (every matched resident
   * with a postal address, when the plan has one).
   */
  letters: { atOnce: number; atMost: number };
  /** The matched residents' ids, when asked for (to compare two versions). */
  matchedIds?: string[];
  samples: ResidentExplanation[];
  seconds: number;
}

/**
 * Evaluates a rule over the population in PostgreSQL, partition by partition,
 * and sends nothing: who it would reach, where, and on which channel first.
 * As everywhere in the engine, only residents who consented to the rule's
 * purpose are evaluated (consent before data): the others are counted, never
 * matched, so no figure says anything about their attributes.
 */
export async function simulateRule(
  db: Kysely<Database>,
  parameters: ParameterSet,
  rule: Rule,
  options: {
    on: string;
    sample: number;
    partitions: number;
    onProgress?: (done: number, total: number, label: string) => void;
    /** Keep the matched residents' ids in the result (matchedIds). */
    keepIds?: boolean;
  },
): Promise<SimulationResult> {
  const started = Date.now();
  const event = 'event' in rule.trigger ? { id: 'simulated', type: rule.trigger.event, date: options.on, payload: {} } : null;
  const ranges = await planPartitions(db, options.partitions);
  const population = Number(
    (
      await db
        .selectFrom('residents')
        .select(({ fn }) => fn.countAll<string>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  const consentedPopulation = Number(
    (
      await db
        .selectFrom('consents')
        .select(sql<string>`count(distinct resident_id)`.as('n'))
        .where('purpose', '=', rule.purpose)
        .where(consentInForceSql('consents', options.on))
        .executeTakeFirstOrThrow()
    ).n,
  );
  const sendOrder = rule.outreach.flatMap((s) => ('send' in s ? [s.send] : []));
  const result: SimulationResult = {
    ruleId: rule.id,
    ruleVersion: rule.version,
    purpose: rule.purpose,
    on: options.on,
    supposedEvent: event ? `${event.type} on ${event.date}` : null,
    population,
    consentedPopulation,
    notEvaluated: population - consentedPopulation,
    matched: 0,
    byWard: {},
    byFirstChannel: {},
    byLocale: {},
    letters: { atOnce: 0, atMost: 0 },
    ...(options.keepIds ? { matchedIds: [] } : {}),
    samples: [],
    seconds: 0,
  };
  const sampleIds: string[] = [];
  options.onProgress?.(0, ranges.length, `simulating ${rule.id}`);
  for (const [index, range] of ranges.entries()) {
    const evaluationStarted = performance.now();
    const rows = await matchPopulation(db, rule, { on: options.on, parameters, event }, { fromId: range.fromId, toId: range.toId, requireConsent: true });
    ruleEvaluationDuration.observe({ path: 'simulation' }, secondsSince(evaluationStarted));
    const ids = [...new Set(rows.map((r) => r.resident_id))];
    result.matched += ids.length;
    result.matchedIds?.push(...ids);
    if (ids.length > 0) {
      const reach = await db
        .selectFrom('residents as r')
        .select([
          'r.id',
          'r.ward',
          'r.email',
          'r.email_status',
          'r.postal_code',
          'r.address',
          'r.locale',
          sql<boolean>`exists (select 1 from push_subscriptions p where p.resident_id = r.id)`.as('has_push'),
        ])
        .where('r.id', 'in', ids)
        .execute();
      for (const r of reach) {
        result.byWard[r.ward] = (result.byWard[r.ward] ?? 0) + 1;
        const reachable = { email: Boolean(r.email) && r.email_status !== 'invalid', push: r.has_push, letter: Boolean(r.postal_code && r.address) };
        const first = sendOrder.find((c) => reachable[c]) ?? 'unreachable';
        result.byFirstChannel[first] = (result.byFirstChannel[first] ?? 0) + 1;
        result.byLocale[r.locale] = (result.byLocale[r.locale] ?? 0) + 1;
        if (first === 'letter') result.letters.atOnce += 1;
        if (reachable.letter && sendOrder.includes('letter')) result.letters.atMost += 1;
        if (sampleIds.length < options.sample) sampleIds.push(r.id);
      }
    }
    options.onProgress?.(index + 1, ranges.length, `simulating ${rule.id}`);
  }
  for (const id of sampleIds) result.samples.push(await explainResident(db, parameters, rule, id, { on: options.on }));
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

export function printSimulation(r: SimulationResult, print: (line: string) => void): void {
  print(
    `${r.ruleId} v${r.ruleVersion} over ${r.population.toLocaleString('en')} residents on ${r.on}${r.supposedEvent ? ` (as if each had: ${r.supposedEvent})` : ''} — nothing was sent`,
  );
  print(
    `  would contact ${r.matched.toLocaleString('en')} of the ${r.consentedPopulation.toLocaleString('en')} who consented to ${r.purpose}; ` +
      `${r.notEvaluated.toLocaleString('en')} without that consent were not evaluated  (${r.seconds.toFixed(1)} s)`,
  );
  print('');
  print(
    table(
      ['ward', 'residents'],
      Object.entries(r.byWard)
        .sort()
        .map(([w, n]) => [w, String(n)]),
    ),
  );
  print('');
  print(
    table(
      ['first channel', 'residents'],
      Object.entries(r.byFirstChannel)
        .sort()
        .map(([c, n]) => [c, String(n)]),
    ),
  );
  print('');
  print(
    table(
      ['language', 'residents'],
      Object.entries(r.byLocale)
        .sort()
        .map(([l, n]) => [l, String(n)]),
    ),
  );
  print('');
  print(`letters: ${r.letters.atOnce} at once (no earlier channel reaches them); at most ${r.letters.atMost} if nobody answers before the letter step`);
  for (const s of r.samples) {
    print('');
    print(`sample: resident ${s.residentId}`);
    for (const line of s.evaluated ? describeEvaluation(s.evaluation, '  ') : [`  ${s.notEvaluated}`]) print(line);
    print(`  ${s.consent.granted ? '✓' : '✗'} consent for ${s.consent.purpose}`);
  }
}

/** Who a new version would reach that the version in force does not, and the reverse (by resident id). */
export interface SimulationDifference {
  gains: number;
  losses: number;
  gainsByWard: Record<string, number>;
  lossesByWard: Record<string, number>;
}

/** The difference between two simulations run with `keepIds` (the candidate and the version in force) on the same day. */
export async function differenceOf(db: Kysely<Database>, candidate: SimulationResult, inForce: SimulationResult): Promise<SimulationDifference> {
  const before = new Set(inForce.matchedIds ?? []);
  const after = new Set(candidate.matchedIds ?? []);
  const gained = [...after].filter((id) => !before.has(id));
  const lost = [...before].filter((id) => !after.has(id));
  const byWard = async (ids: string[]): Promise<Record<string, number>> => {
    const counts: Record<string, number> = {};
    for (let i = 0; i < ids.length; i += 5_000) {
      const rows = await db
        .selectFrom('residents')
        .select('ward')
        .where('id', 'in', ids.slice(i, i + 5_000))
        .execute();
      for (const r of rows) counts[r.ward] = (counts[r.ward] ?? 0) + 1;
    }
    return counts;
  };
  return { gains: gained.length, losses: lost.length, gainsByWard: await byWard(gained), lossesByWard: await byWard(lost) };
}
