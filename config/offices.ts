import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { readYamlConfig } from './wards';

/** The offices file a city edits; `OFFICES_FILE` names another. */
export const DEFAULT_OFFICES_FILE = fileURLToPath(new URL('./offices.yaml', import.meta.url));

const OfficeId = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'lower-case letters, digits and -, starting with a letter');

/** An https address without credentials or spaces: what a resident may be sent to. */
export function httpsUrlProblem(value: string): string | null {
  if (/\s/.test(value)) return 'an address has no spaces';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not a web address: write it in full, starting with https://';
  }
  if (url.protocol !== 'https:') return `must start with https:// (residents are sent only to encrypted pages), not ${url.protocol}//`;
  if (url.username || url.password) return 'must not hold a user name or password';
  if (!url.hostname.includes('.')) return `${url.hostname} is not a full host name (like www.city.example.jp)`;
  return null;
}

const HTTPS_SHAPE = /^https:\/\/\S+$/;

/** The pattern is what editors' JSON Schemas check too; the rest (a host name, no credentials) after it. */
export const HttpsUrl = z
  .string()
  .max(500)
  .regex(HTTPS_SHAPE, 'must be a full https:// address without spaces (residents are sent only to encrypted pages)')
  .superRefine((value, ctx) => {
    if (!HTTPS_SHAPE.test(value)) return;
    const problem = httpsUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A text residents read, in each of the notices' languages. */
const perLocale = (max: number) => z.object({ ja: z.string().min(1).max(max), en: z.string().min(1).max(max), 'ja-easy': z.string().min(1).max(max) }).strict();

/** Longest values, for the push-size estimate of `templates check`. */
export const OFFICE_TEXT_LIMITS = { name: 60, phone: 20, postalCode: 8, address: 100, hours: 100, email: 254, web: 500 } as const;

const OfficeSchema = z
  .object({
    id: OfficeId,
    /** The section (課・係) as residents read it. */
    name: perLocale(OFFICE_TEXT_LIMITS.name),
    phone: z
      .string()
      .max(OFFICE_TEXT_LIMITS.phone)
      .regex(/^\+?[0-9][0-9-]{5,}$/, 'digits and hyphens, like 03-1234-5678'),
    postalCode: z.string().regex(/^\d{3}-\d{4}$/, 'a postal code like 100-0001'),
    /** The postal address, as printed on envelopes (Japanese). */
    address: z.string().min(1).max(OFFICE_TEXT_LIMITS.address),
    /** Opening hours in words. */
    hours: perLocale(OFFICE_TEXT_LIMITS.hours),
    email: z.email().max(OFFICE_TEXT_LIMITS.email).optional(),
    web: HttpsUrl.optional(),
  })
  .strict();

export type Office = z.infer<typeof OfficeSchema>;

const OfficesFileSchema = z
  .object({
    default: OfficeId,
    offices: z.array(OfficeSchema).min(1),
  })
  .strict()
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.offices.forEach((office, i) => {
      if (seen.has(office.id)) ctx.addIssue({ code: 'custom', path: ['offices', i, 'id'], message: `"${office.id}" is listed twice` });
      seen.add(office.id);
    });
    if (!seen.has(file.default))
      ctx.addIssue({ code: 'custom', path: ['default'], message: `"${file.default}" is not one of the offices listed (${[...seen].join(', ')})` });
  });

/** The city's offices, and the one that stands in for a rule that names none. */
export class OfficeDirectory {
  private readonly byId: ReadonlyMap<string, Office>;
  readonly defaultOffice: Office;

  constructor(
    offices: readonly Office[],
    defaultId: string,
    /** The file they were read from, for messages. */
    readonly file = 'config/offices.yaml',
  ) {
    this.byId = new Map(offices.map((o) => [o.id, o]));
    const fallback = this.byId.get(defaultId);
    if (!fallback) throw new Error(`default office ${defaultId} is not listed`);
    this.defaultOffice = fallback;
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /**
   * A rule's office. A rule version stored before rules named their office (or
   * naming one the file no longer lists: validation refuses that for new
   * versions) gets the default office.
   */
  forRule(rule: { office?: string | undefined }): Office {
    return (rule.office !== undefined ? this.byId.get(rule.office) : undefined) ?? this.defaultOffice;
  }
}

/** Reads and checks an offices file; every error names the file and the field. */
export function loadOffices(file: string = process.env.OFFICES_FILE || DEFAULT_OFFICES_FILE): OfficeDirectory {
  const parsed = readYamlConfig(file, OfficesFileSchema);
  return new OfficeDirectory(parsed.offices, parsed.default, relative(process.cwd(), file) || file);
}

let configured: OfficeDirectory | undefined;
/** The offices of `OFFICES_FILE` (or config/offices.yaml), read once per process. */
export function configuredOffices(): OfficeDirectory {
  configured ??= loadOffices();
  return configured;
}
