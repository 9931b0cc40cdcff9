/**
 * Each table family has one owner in the store: the delivery ledger is written only by
 * store/delivery-ledger.ts, caseworker tasks only by store/caseworker-tasks.ts. A plain scan
 * of the source (no services): any other file that inserts, updates or deletes those
 * rows — through kysely or in raw SQL — fails here with its file and line.
 * Migrations create the tables and are exempt; tests are not scanned.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const SKIPPED_DIRS = new Set(['node_modules', 'tests', '.git', '.tools', '.oshirase', 'dist']);

const OWNERS = {
  deliveries: 'store/delivery-ledger.ts',
  caseworker_tasks: 'store/caseworker-tasks.ts',
  resident_relationships: 'store/register.ts',
  grants: 'store/grants.ts',
} as const;
type OwnedTable = keyof typeof OWNERS;

/** kysely's write builders and raw SQL writes naming the table (an alias after it allowed). */
function writePatterns(table: string): RegExp[] {
  const quoted = String.raw`['"\`]${table}(?:\s+as\s+\w+)?['"\`]`;
  return [
    new RegExp(String.raw`\b(?:insertInto|updateTable|deleteFrom|replaceInto|mergeInto)\s*\(\s*${quoted}`, 'g'),
    new RegExp(String.raw`\binsert\s+into\s+(?:public\.)?"?${table}"?\b`, 'gi'),
    new RegExp(String.raw`\bupdate\s+(?:only\s+)?(?:public\.)?"?${table}"?\b`, 'gi'),
    new RegExp(String.raw`\bdelete\s+from\s+(?:only\s+)?(?:public\.)?"?${table}"?\b`, 'gi'),
    new RegExp(String.raw`\btruncate\s+(?:table\s+)?(?:only\s+)?(?:public\.)?"?${table}"?\b`, 'gi'),
  ];
}

interface Write {
  file: string;
  line: number;
  text: string;
}

/** Every write to `table` in `source`, with its line. */
function writesTo(table: string, file: string, source: string): Write[] {
  const found: Write[] = [];
  for (const pattern of writePatterns(table)) {
    for (const match of source.matchAll(pattern)) {
      const line = source.slice(0, match.index).split('\n').length;
      found.push({ file, line, text: match[0].replace(/\s+/g, ' ') });
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return SKIPPED_DIRS.has(entry.name) ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const files = sourceFiles(ROOT)
  .map((path) => relative(ROOT, path).split(sep).join('/'))
  .filter((file) => !file.startsWith('store/migrations/'));

describe('store ownership', () => {
  it('finds the source tree', () => {
    expect(files).toContain(OWNERS.deliveries);
    expect(files).toContain(OWNERS.caseworker_tasks);
    expect(files).toContain('activities/deliver-notice.ts');
  });

  for (const table of Object.keys(OWNERS) as OwnedTable[]) {
    it(`only ${OWNERS[table]} writes ${table}`, () => {
      const strays = files
        .filter((file) => file !== OWNERS[table])
        .flatMap((file) => writesTo(table, file, readFileSync(join(ROOT, file), 'utf8')))
        .map((w) => `${w.file}:${w.line}: ${w.text}`);
      expect(strays, `write ${table} through ${OWNERS[table]}`).toEqual([]);
      // The owner does write it: a pattern that stopped matching would pass everything.
      expect(writesTo(table, OWNERS[table], readFileSync(join(ROOT, OWNERS[table]), 'utf8')).length).toBeGreaterThan(0);
    });
  }

  it('recognises the ways a write is spelt', () => {
    const samples = [
      "db.insertInto('deliveries').values(row)",
      'tx.updateTable("deliveries as d")',
      'db.deleteFrom(`deliveries`)',
      'sql`update deliveries as d set status = ...`',
      'sql`\n  UPDATE\n    deliveries set x = 1`',
      'sql`insert into deliveries (id) values (1)`',
      'sql`delete from deliveries where outreach_id in ...`',
      'sql`truncate deliveries`',
    ];
    for (const sample of samples) expect(writesTo('deliveries', 'sample.ts', sample), sample).toHaveLength(1);
    const reads = [
      "db.selectFrom('deliveries').selectAll()",
      ".innerJoin('deliveries as d', 'd.id', 'l.delivery_id')",
      'sql`select count(*) from deliveries`',
      '/** the next deliveries to that address */',
      "db.updateTable('deliveries_archive')",
    ];
    for (const sample of reads) expect(writesTo('deliveries', 'sample.ts', sample), sample).toEqual([]);
  });
});
