/**
 * Population evaluation of the full rule set, as residents × rules evaluated
 * per second, through four paths over the same synthetic population:
 *
 *   (a) sql     — engine/rule-language/compile-sql.ts matchPopulationTogether, consent
 *                 required (what the daily evaluation runs): the rules that hold for
 *                 the whole population on the day in one pass, the others through
 *                 their own indexed query; (a') the same with one query a rule
 *                 (matchPopulation, as `rules simulate` runs one rule);
 *   (b) memory  — engine/rule-language/evaluate-rule.ts over facts loaded in chunks of
 *                 5,000 residents (load time reported apart), consent from each chunk's set;
 *   (c) peer    — the same rules for json-rules-engine, engine.run per resident over
 *                 the same chunks (dev/bench/json-rules-peer.ts says what the peer is given
 *                 precomputed; preparing its facts is reported apart);
 *   (d) limit   — one bare sequential scan of residents reading every column the
 *                 rules read, with one consent lookup: no one-pass evaluation can be
 *                 faster in PostgreSQL; (d') one such scan a rule, the limit of (a').
 *
 * Event rules are evaluated as if the event happened to everyone on the
 * evaluation date, with an empty payload, as `rules simulate` does.
 *
 *   tsx dev/bench/population-evaluation.ts [--sizes 10000,100000] [--runs 3] [--on 2027-01-20] [--verify-max 100000] [--slow-run-seconds 60] [--per-rule-max 100000]
 *
 * A path whose one run takes longer than --slow-run-seconds is run once; (a')
 * and (d') are run once above --per-rule-max residents.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CompiledQuery, sql, type Kysely } from 'kysely';
import type { Database } from '../../store/schema';
import { loadResidentFacts } from '../../engine/rule-language/resident-facts';
import { compileRuleQuery, matchPopulation, matchPopulationTogether, type PopulationContext } from '../../engine/rule-language/compile-sql';
import { evaluateRule, type EventFacts, type ResidentFacts } from '../../engine/rule-language/evaluate-rule';
import { loadRuleSet, projectRuleSetOptions } from '../../engine/rule-language/load-rules';
import type { ParameterSet } from '../../engine/rule-language/parameters';
import type { Condition, Rule } from '../../engine/rule-language/rule-schema';
import { PROJECT_ROOT } from '../../runtime/engine-context';
import { buildPeer, peerFacts, runPeer, type PeerFacts, type PeerRuleSet } from './json-rules-peer';
import { BENCH_REFERENCE_DATE, DEFAULT_SERVER_URL, preparePopulation } from './prepare-population';
import { runBenchmark } from './bench-results';

const FACT_CHUNK = 5_000;

interface Stat {
  median: number;
  min: number;
  max: number;
}

interface PathFigures {
  seconds: Stat;
  /** residents × rules per second (from the median seconds). */
  rate: number;
}

interface SizeReport {
  residents: number;
  rules: number;
  on: string;
  runs: number;
  runsPerPath: { sql: number; sqlPerRule: number; memory: number; peer: number; limit: number; limitPerRule: number };
  sql: PathFigures & { matches: number };
  sqlPerRule: PathFigures & { perRuleSeconds: Record<string, Stat>; matches: number };
  memory: PathFigures & { loadSeconds: Stat; matches: number };
  peer: PathFigures & { prepareSeconds: Stat; matches: number; rulesInEngine: number };
  limit: PathFigures;
  limitPerRule: PathFigures & { perRuleSeconds: Record<string, Stat> };
  ratios: { sqlOverPeer: number; sqlOverLimit: number; sqlOverMemory: number; sqlPerRuleOverLimitPerRule: number };
  verification: { checked: boolean; peerVsSql: Mismatch; memoryVsSql: Mismatch; perRuleVsSql: Mismatch };
  slowestRule: { id: string; explainAnalyze: string[] };
}

interface Mismatch {
  onlyInSql: number;
  onlyInOther: number;
  examples: string[];
}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function stat(values: number[]): Stat {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** The simulated event of an event rule (as engine/rule-language/simulate-rule.ts supposes it), null for date rules. */
function supposedEvent(rule: Rule, on: string): EventFacts | null {
  return 'event' in rule.trigger ? { id: 'simulated', type: rule.trigger.event, date: on, payload: {} } : null;
}

/** Every (rule, resident) pair as "rule|resident": what the paths must agree on. */
type MatchSet = Set<string>;

/** A run with its match set kept only where it is compared; the count always. */
type Kept<T extends { matches: MatchSet }> = Omit<T, 'matches'> & { matched: number; matches: MatchSet | null };

function kept<T extends { matches: MatchSet }>(run: T, keep: boolean): Kept<T> {
  return { ...run, matched: run.matches.size, matches: keep ? run.matches : null };
}

function keptMatches(run: { matches: MatchSet | null } | undefined): MatchSet {
  if (!run?.matches) throw new Error('internal: the match set to compare was not kept');
  return run.matches;
}

const heapMiB = (): number => Math.round(process.memoryUsage().heapUsed / 2 ** 20);

async function runSqlTogether(db: Kysely<Database>, rules: Rule[], on: string, parameters: ParameterSet): Promise<{ seconds: number; matches: MatchSet }> {
  const matches: MatchSet = new Set();
  const started = performance.now();
  const results = await matchPopulationTogether(
    db,
    rules.map((rule) => ({ rule, ctx: { on, parameters, event: supposedEvent(rule, on) } })),
    { requireConsent: true },
  );
  const elapsed = seconds(started);
  results.forEach((rows, i) => rows.forEach((r) => matches.add(`${rules[i]!.id}|${r.resident_id}`)));
  return { seconds: elapsed, matches };
}

async function runSqlPerRule(
  db: Kysely<Database>,
  rules: Rule[],
  on: string,
  parameters: ParameterSet,
): Promise<{ seconds: number; perRule: Record<string, number>; matches: MatchSet }> {
  const perRule: Record<string, number> = {};
  const matches: MatchSet = new Set();
  const started = performance.now();
  for (const rule of rules) {
    const t = performance.now();
    const rows = await matchPopulation(db, rule, { on, parameters, event: supposedEvent(rule, on) }, { requireConsent: true });
    perRule[rule.id] = seconds(t);
    for (const r of rows) matches.add(`${rule.id}|${r.resident_id}`);
  }
  return { seconds: seconds(started), perRule, matches };
}

/** One chunk of the population as the JavaScript paths read it. */
interface LoadedChunk {
  facts: ResidentFacts[];
  /** "resident|purpose" of every consent in force. */
  consents: Set<string>;
  consentsByResident: Map<string, string[]>;
}

/**
 * The population in chunks of FACT_CHUNK residents, in id order, as an engine
 * evaluating in JavaScript would stream it from the database: holding a million
 * residents' facts at once would time the paths mostly collecting garbage.
 */
async function* populationChunks(db: Kysely<Database>): AsyncGenerator<LoadedChunk> {
  const ids = (await db.selectFrom('residents').select('id').orderBy('id').execute()).map((r) => r.id);
  for (let i = 0; i < ids.length; i += FACT_CHUNK) {
    const chunk = ids.slice(i, i + FACT_CHUNK);
    const [loaded, rows] = await Promise.all([
      loadResidentFacts(db, chunk),
      db.selectFrom('consents').select(['resident_id', 'purpose']).where('withdrawn_at', 'is', null).where('resident_id', 'in', chunk).execute(),
    ]);
    const consents = new Set<string>();
    const consentsByResident = new Map<string, string[]>();
    for (const r of rows) {
      consents.add(`${r.resident_id}|${r.purpose}`);
      const list = consentsByResident.get(r.resident_id);
      if (list) list.push(r.purpose);
      else consentsByResident.set(r.resident_id, [r.purpose]);
    }
    yield { facts: chunk.map((id) => loaded.get(id)!), consents, consentsByResident };
  }
}

/** Seconds of one path over the chunks so far, and its matches (a set when compared, else a count). */
class ChunkedRun {
  seconds = 0;
  matched = 0;
  constructor(readonly matches: MatchSet | null) {}
  add(key: string): void {
    this.matched += 1;
    this.matches?.add(key);
  }
}

function runMemory(chunk: LoadedChunk, contexts: Array<{ rule: Rule; ctx: PopulationContext }>, into: ChunkedRun): void {
  const started = performance.now();
  for (const facts of chunk.facts) {
    for (const { rule, ctx } of contexts) {
      // Consent first: the cheap test, as the engine's own in-memory path would order it.
      if (!chunk.consents.has(`${facts.id}|${rule.purpose}`)) continue;
      if (evaluateRule(rule, facts, ctx).matched) into.add(`${rule.id}|${facts.id}`);
    }
  }
  into.seconds += seconds(started);
}

async function runPeerPath(facts: PeerFacts[], engine: PeerRuleSet['engine'], into: ChunkedRun): Promise<void> {
  const started = performance.now();
  for (const f of facts) {
    for (const id of await runPeer(engine, f)) into.add(`${id}|${f.id}`);
  }
  into.seconds += seconds(started);
}

/** The residents columns a rule reads (triggers and conditions); household counts read household_id. */
function columnsOf(rule: Rule): string[] {
  const columns = new Set<string>(['id']);
  const t = rule.trigger;
  if ('reaches' in t) columns.add('birth_date');
  if ('anniversary' in t) ['birth_date', 'household_id', 'residence_status'].forEach((c) => columns.add(c));
  const visit = (c: Condition, member: boolean): void => {
    if ('all' in c) c.all.forEach((x) => visit(x, member));
    else if ('any' in c) c.any.forEach((x) => visit(x, member));
    else if ('not' in c) visit(c.not, member);
    else if ('count' in c) {
      ['household_id', 'residence_status'].forEach((x) => columns.add(x));
      if (Object.keys(c.count.members).length > 0) visit(c.count.members as Condition, true);
    } else if (member || c.attribute === 'age') columns.add('birth_date');
    else if (c.attribute === 'household_size') columns.add('household_id');
    else if (!c.attribute.startsWith('event.')) columns.add(c.attribute);
  };
  if (rule.conditions) visit(rule.conditions, false);
  return [...columns];
}

/**
 * The limit of a one-pass evaluation: one sequential scan of residents testing
 * every column any rule reads, with one consent lookup for the rules' purposes.
 */
async function runLimitOnePass(db: Kysely<Database>, rules: Rule[]): Promise<{ seconds: number }> {
  return db.connection().execute(async (conn) => {
    await sql`set enable_indexscan = off`.execute(conn);
    await sql`set enable_bitmapscan = off`.execute(conn);
    try {
      const columns = [...new Set(rules.flatMap(columnsOf))];
      const purposes = [...new Set(rules.map((r) => r.purpose))];
      const started = performance.now();
      await sql`select count(*) from residents r
        where ${sql.join(
          columns.map((c) => sql`${sql.ref(`r.${c}`)} is not null`),
          sql` and `,
        )}
          and exists (select 1 from consents c where c.resident_id = r.id and c.purpose in (${sql.join(purposes)}) and c.withdrawn_at is null)`.execute(conn);
      return { seconds: seconds(started) };
    } finally {
      await sql`reset enable_indexscan`.execute(conn);
      await sql`reset enable_bitmapscan`.execute(conn);
    }
  });
}

/**
 * The limit of one query a rule: per rule, one sequential scan of residents
 * testing every column the rule reads, with the consent lookup (a') does. Index
 * and bitmap scans are disabled for it, so it stays the bare scan whatever the
 * planner thinks.
 */
async function runLimit(db: Kysely<Database>, rules: Rule[]): Promise<{ seconds: number; perRule: Record<string, number> }> {
  return db.connection().execute(async (conn) => {
    await sql`set enable_indexscan = off`.execute(conn);
    await sql`set enable_bitmapscan = off`.execute(conn);
    try {
      const perRule: Record<string, number> = {};
      const started = performance.now();
      for (const rule of rules) {
        const t = performance.now();
        const tests = columnsOf(rule).map((c) => sql`${sql.ref(`r.${c}`)} is not null`);
        await sql`select count(*) from residents r
          where ${sql.join(tests, sql` and `)}
            and exists (select 1 from consents c where c.resident_id = r.id and c.purpose = ${rule.purpose} and c.withdrawn_at is null)`.execute(conn);
        perRule[rule.id] = seconds(t);
      }
      return { seconds: seconds(started), perRule };
    } finally {
      await sql`reset enable_indexscan`.execute(conn);
      await sql`reset enable_bitmapscan`.execute(conn);
    }
  });
}

function compare(sqlMatches: MatchSet, other: MatchSet): Mismatch {
  const onlyInSql = [...sqlMatches].filter((k) => !other.has(k));
  const onlyInOther = [...other].filter((k) => !sqlMatches.has(k));
  return {
    onlyInSql: onlyInSql.length,
    onlyInOther: onlyInOther.length,
    examples: [...onlyInSql.slice(0, 5).map((k) => `sql only: ${k}`), ...onlyInOther.slice(0, 5).map((k) => `other only: ${k}`)],
  };
}

async function explainSlowest(db: Kysely<Database>, rule: Rule, ctx: PopulationContext): Promise<string[]> {
  const compiled = compileRuleQuery(db, rule, ctx, { requireConsent: true }).compile();
  const result = await db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain (analyze, buffers) ${compiled.sql}`, [...compiled.parameters]));
  return result.rows.map((r) => r['QUERY PLAN']);
}

async function benchmarkSize(
  residents: number,
  options: { runs: number; on: string; verifyMax: number; serverUrl: string; slowRunSeconds: number; perRuleMax: number },
  rules: Rule[],
  parameters: ParameterSet,
): Promise<SizeReport> {
  const handle = await preparePopulation({ residents, seed: 1, serverUrl: options.serverUrl, log });
  const db = handle.db;
  try {
    const { on, runs } = options;
    const pairs = residents * rules.length;
    const sqlRuns: Array<Kept<Awaited<ReturnType<typeof runSqlTogether>>>> = [];
    const perRuleRuns: Array<Kept<Awaited<ReturnType<typeof runSqlPerRule>>>> = [];
    const onePassRuns: Array<Awaited<ReturnType<typeof runLimitOnePass>>> = [];
    const loadRuns: number[] = [];
    const memoryRuns: ChunkedRun[] = [];
    const prepareRuns: number[] = [];
    const peerRuns: ChunkedRun[] = [];
    const limitRuns: Array<Awaited<ReturnType<typeof runLimit>>> = [];
    // Untimed: opens the pool's connection and warms the caches, so run 1 is not an outlier.
    log(`[${residents}] warm-up`);
    await runSqlTogether(db, rules, on, parameters);
    await runLimitOnePass(db, rules);
    // One query a rule is what (a) improves on; above --per-rule-max it is measured once.
    const perRuleEveryRun = residents <= options.perRuleMax;
    // A path whose single run takes longer than slowRunSeconds (the peer and the
    // in-memory path at a million residents) is not repeated: its figure is
    // that one run, and the report says so.
    const repeat = (last: number | undefined): boolean => last === undefined || last < options.slowRunSeconds;
    // Match sets are kept only where they are compared: the first run of each path, and for the
    // JavaScript paths only up to --verify-max (millions of strings kept for nothing would weigh on
    // the heap of the paths being timed).
    const checked = residents <= options.verifyMax;
    // The PostgreSQL paths first, all their runs together, then the JavaScript paths, so none of
    // their garbage is being collected while the SQL paths are timed.
    for (let run = 1; run <= runs; run++) {
      log(`[${residents}] run ${run}/${runs}: (a) sql`);
      sqlRuns.push(kept(await runSqlTogether(db, rules, on, parameters), sqlRuns.length === 0));
      if (perRuleEveryRun || run === 1) {
        log(`[${residents}] run ${run}/${runs}: (a') sql, one query a rule`);
        perRuleRuns.push(kept(await runSqlPerRule(db, rules, on, parameters), perRuleRuns.length === 0));
      }
      log(`[${residents}] run ${run}/${runs}: (d) bare scan`);
      onePassRuns.push(await runLimitOnePass(db, rules));
      if (perRuleEveryRun || run === 1) {
        log(`[${residents}] run ${run}/${runs}: (d') bare scan a rule`);
        limitRuns.push(await runLimit(db, rules));
      }
    }
    const contexts = rules.map((rule) => ({ rule, ctx: { on, parameters, event: supposedEvent(rule, on) } }));
    let rulesInEngine = 0;
    for (let run = 1; run <= runs; run++) {
      const lastMemory = memoryRuns.length ? memoryRuns[memoryRuns.length - 1]!.seconds + loadRuns[loadRuns.length - 1]! : undefined;
      const lastPeer = peerRuns.length ? peerRuns[peerRuns.length - 1]!.seconds + prepareRuns[prepareRuns.length - 1]! : undefined;
      const memoryAgain = repeat(lastMemory);
      const peerAgain = repeat(lastPeer);
      if (!memoryAgain && !peerAgain) break;
      const paths = [memoryAgain ? '(b) in memory' : '', peerAgain ? '(c) json-rules-engine' : ''].filter(Boolean).join(' and ');
      log(`[${residents}] run ${run}/${runs}: ${paths}, ${FACT_CHUNK.toLocaleString('en')} residents at a time`);
      // Each chunk is loaded once and given to both paths in turn; only their own work is timed.
      const memory = new ChunkedRun(memoryRuns.length === 0 && checked ? new Set() : null);
      const peerRun = new ChunkedRun(peerRuns.length === 0 && checked ? new Set() : null);
      const peer = buildPeer(rules, on, parameters);
      rulesInEngine = peer.ruleIds.length;
      let loadSeconds = 0;
      let prepareSeconds = 0;
      let started = performance.now();
      for await (const chunk of populationChunks(db)) {
        loadSeconds += seconds(started);
        if (memoryAgain) runMemory(chunk, contexts, memory);
        if (peerAgain) {
          const t = performance.now();
          const facts = chunk.facts.map((f) => peerFacts(f, on, chunk.consentsByResident.get(f.id) ?? []));
          prepareSeconds += seconds(t);
          await runPeerPath(facts, peer.engine, peerRun);
        }
        started = performance.now();
      }
      if (memoryAgain) {
        loadRuns.push(loadSeconds);
        memoryRuns.push(memory);
      }
      if (peerAgain) {
        prepareRuns.push(prepareSeconds);
        peerRuns.push(peerRun);
      }
      log(
        `[${residents}] run ${run}/${runs}: done (b) ${memoryAgain ? memory.seconds.toFixed(1) : '-'} s, (c) ${peerAgain ? peerRun.seconds.toFixed(1) : '-'} s; heap in use ${heapMiB()} MiB`,
      );
    }
    const figures = (values: number[]): PathFigures => {
      const s = stat(values);
      return { seconds: s, rate: pairs / s.median };
    };
    const perRuleSeconds: Record<string, Stat> = {};
    const limitPerRule: Record<string, Stat> = {};
    for (const rule of rules) {
      perRuleSeconds[rule.id] = stat(perRuleRuns.map((r) => r.perRule[rule.id]!));
      limitPerRule[rule.id] = stat(limitRuns.map((r) => r.perRule[rule.id]!));
    }
    const slowest = rules.reduce((a, b) => (perRuleSeconds[b.id]!.median > perRuleSeconds[a.id]!.median ? b : a));
    const sqlMatches = keptMatches(sqlRuns[0]);
    const none: Mismatch = { onlyInSql: 0, onlyInOther: 0, examples: [] };
    const report: SizeReport = {
      residents,
      rules: rules.length,
      on,
      runs,
      runsPerPath: {
        sql: sqlRuns.length,
        sqlPerRule: perRuleRuns.length,
        memory: memoryRuns.length,
        peer: peerRuns.length,
        limit: onePassRuns.length,
        limitPerRule: limitRuns.length,
      },
      sql: { ...figures(sqlRuns.map((r) => r.seconds)), matches: sqlRuns[0]!.matched },
      sqlPerRule: { ...figures(perRuleRuns.map((r) => r.seconds)), perRuleSeconds, matches: perRuleRuns[0]!.matched },
      memory: { ...figures(memoryRuns.map((r) => r.seconds)), loadSeconds: stat(loadRuns), matches: memoryRuns[0]!.matched },
      peer: { ...figures(peerRuns.map((r) => r.seconds)), prepareSeconds: stat(prepareRuns), matches: peerRuns[0]!.matched, rulesInEngine },
      limit: figures(onePassRuns.map((r) => r.seconds)),
      limitPerRule: { ...figures(limitRuns.map((r) => r.seconds)), perRuleSeconds: limitPerRule },
      ratios: { sqlOverPeer: 0, sqlOverLimit: 0, sqlOverMemory: 0, sqlPerRuleOverLimitPerRule: 0 },
      verification: {
        checked,
        peerVsSql: checked ? compare(sqlMatches, keptMatches(peerRuns[0])) : none,
        memoryVsSql: checked ? compare(sqlMatches, keptMatches(memoryRuns[0])) : none,
        // Always checked: both come from PostgreSQL, so it costs nothing more at any size.
        perRuleVsSql: compare(sqlMatches, keptMatches(perRuleRuns[0])),
      },
      slowestRule: { id: slowest.id, explainAnalyze: await explainSlowest(db, slowest, { on, parameters, event: supposedEvent(slowest, on) }) },
    };
    report.ratios = {
      sqlOverPeer: report.sql.rate / report.peer.rate,
      sqlOverLimit: report.sql.rate / report.limit.rate,
      sqlOverMemory: report.sql.rate / report.memory.rate,
      sqlPerRuleOverLimitPerRule: report.sqlPerRule.rate / report.limitPerRule.rate,
    };
    return report;
  } finally {
    await handle.close();
  }
}

function formatRate(rate: number): string {
  return rate >= 1e6 ? `${(rate / 1e6).toFixed(2)} M/s` : `${(rate / 1e3).toFixed(1)} k/s`;
}

function formatStat(s: Stat): string {
  return `${s.median.toFixed(3)} (${s.min.toFixed(3)}–${s.max.toFixed(3)})`;
}

function printReport(r: SizeReport): void {
  const rows: string[][] = [
    ['path', 'seconds median (min–max)', 'residents×rules/s', 'matches'],
    ['(a) sql, matchPopulationTogether', formatStat(r.sql.seconds), formatRate(r.sql.rate), String(r.sql.matches)],
    ["(a') sql, one query a rule", formatStat(r.sqlPerRule.seconds), formatRate(r.sqlPerRule.rate), String(r.sqlPerRule.matches)],
    ['(b) memory, load facts', formatStat(r.memory.loadSeconds), '', ''],
    ['(b) memory, evaluateRule', formatStat(r.memory.seconds), formatRate(r.memory.rate), String(r.memory.matches)],
    ['(c) json-rules-engine, prepare', formatStat(r.peer.prepareSeconds), '', ''],
    ['(c) json-rules-engine, run', formatStat(r.peer.seconds), formatRate(r.peer.rate), String(r.peer.matches)],
    ['(d) bare seq scan + consent, one pass', formatStat(r.limit.seconds), formatRate(r.limit.rate), ''],
    ["(d') bare seq scan + consent, a rule", formatStat(r.limitPerRule.seconds), formatRate(r.limitPerRule.rate), ''],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out: string[] = [];
  const p = r.runsPerPath;
  out.push(
    `population ${r.residents.toLocaleString('en')} residents × ${r.rules} rules on ${r.on}; runs: (a) ${p.sql}, (a') ${p.sqlPerRule}, (b) ${p.memory}, (c) ${p.peer}, (d) ${p.limit}, (d') ${p.limitPerRule}`,
  );
  out.push(line(rows[0]!));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) out.push(line(row));
  out.push(
    `a/c (sql ÷ json-rules-engine) = ${r.ratios.sqlOverPeer.toFixed(2)}   a/d (sql ÷ one-pass bare scan) = ${r.ratios.sqlOverLimit.toFixed(2)}   a'/d' = ${r.ratios.sqlPerRuleOverLimitPerRule.toFixed(2)}   a/b = ${r.ratios.sqlOverMemory.toFixed(2)}`,
  );
  const v = r.verification;
  out.push(
    v.checked
      ? `verification vs (a): json-rules-engine ${v.peerVsSql.onlyInSql + v.peerVsSql.onlyInOther} mismatches, in-memory ${v.memoryVsSql.onlyInSql + v.memoryVsSql.onlyInOther} mismatches, one query a rule ${v.perRuleVsSql.onlyInSql + v.perRuleVsSql.onlyInOther} mismatches`
      : `verification vs (a): one query a rule ${v.perRuleVsSql.onlyInSql + v.perRuleVsSql.onlyInOther} mismatches; the others skipped (above --verify-max)`,
  );
  for (const e of [...v.peerVsSql.examples, ...v.memoryVsSql.examples, ...v.perRuleVsSql.examples]) out.push(`  ${e}`);
  const slowest = r.sqlPerRule.perRuleSeconds[r.slowestRule.id]!;
  out.push("per rule, median seconds: (a') sql / (d') bare scan");
  for (const [id, s] of Object.entries(r.sqlPerRule.perRuleSeconds))
    out.push(`  ${id.padEnd(40)} ${s.median.toFixed(4)} / ${r.limitPerRule.perRuleSeconds[id]!.median.toFixed(4)}`);
  out.push(`slowest sql rule: ${r.slowestRule.id} (${formatStat(slowest)} s)`);
  process.stdout.write(`${out.join('\n')}\n\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '10000,100000' },
      runs: { type: 'string', default: '3' },
      on: { type: 'string', default: BENCH_REFERENCE_DATE },
      'verify-max': { type: 'string', default: '100000' },
      'slow-run-seconds': { type: 'string', default: '60' },
      'per-rule-max': { type: 'string', default: '100000' },
    },
    strict: true,
  });
  const sizes = values.sizes.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`--sizes takes positive integers separated by commas (got ${values.sizes})`);
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs <= 0) throw new Error('--runs takes a positive integer');
  const slowRunSeconds = Number(values['slow-run-seconds']);
  if (!(slowRunSeconds > 0)) throw new Error('--slow-run-seconds takes a positive number');
  const perRuleMax = Number(values['per-rule-max']);
  if (!Number.isInteger(perRuleMax) || perRuleMax < 0) throw new Error('--per-rule-max takes a count of residents');
  const { rules: loaded, parameters } = loadRuleSet(projectRuleSetOptions(PROJECT_ROOT));
  const rules = loaded.map((l) => l.rule);
  const resultsDir = join(PROJECT_ROOT, 'dev', 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  for (const residents of sizes) {
    const report = await benchmarkSize(
      residents,
      { runs, on: values.on, verifyMax: Number(values['verify-max']), serverUrl: process.env.DATABASE_URL ?? DEFAULT_SERVER_URL, slowRunSeconds, perRuleMax },
      rules,
      parameters,
    );
    printReport(report);
    const file = join(resultsDir, `population-evaluation-${residents}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${file}`);
    log(`EXPLAIN ANALYZE of ${report.slowestRule.id}:\n${report.slowestRule.explainAnalyze.join('\n')}`);
  }
}

runBenchmark(main);
