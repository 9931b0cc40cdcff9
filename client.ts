/**
 * The `oshirase` command-line client: the entry point only. The commands
 * live in cli/, one file per group, assembled on commander in cli/program.ts.
 *   oshirase --help
 *   oshirase events send --resident R-1001 --type birth --date 2026-11-20
 *   oshirase rules validate
 */
import { fileURLToPath } from 'node:url';
import { main } from './cli/program';

export { main };

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
