import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './engine-config';
import { formatIssues } from '../foundation/zod-issues';
import { readTextFile } from '../foundation/read-text-file';

/** The wards file a city edits; `WARDS_FILE` names another. */
export const DEFAULT_WARDS_FILE = fileURLToPath(new URL('./wards.yaml', import.meta.url));

const WardId = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'lower-case letters, digits and -, starting with a letter');

const WardsFileSchema = z
  .object({
    wards: z
      .array(
        z
          .object({
            id: WardId,
            name: z.object({ ja: z.string().min(1).max(100), en: z.string().min(1).max(100) }).strict(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.wards.forEach((ward, i) => {
      if (seen.has(ward.id)) ctx.addIssue({ code: 'custom', path: ['wards', i, 'id'], message: `"${ward.id}" is listed twice` });
      seen.add(ward.id);
    });
  });

export type Ward = z.infer<typeof WardsFileSchema>['wards'][number];

/** Reads and checks a YAML configuration file; every error names the file and the field. */
export function readYamlConfig<T>(file: string, schema: z.ZodType<T>): T {
  // Strict UTF-8: a file saved as Shift_JIS is refused, never read as mojibake into names residents see.
  const read = readTextFile(file);
  if (!read.ok)
    throw new ConfigError(
      read.problem.kind === 'encoding' ? `${file}:${read.problem.line}:${read.problem.column}: ${read.problem.message}` : `${file}: cannot read the file`,
    );
  const text = read.text;
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${file}: ${formatIssues(parsed.error.issues, '(file)').join('; ')}`);
  return parsed.data;
}

/** The city's wards, in the order the file lists them. */
export function loadWards(file: string = process.env.WARDS_FILE || DEFAULT_WARDS_FILE): Ward[] {
  return readYamlConfig(file, WardsFileSchema).wards;
}
