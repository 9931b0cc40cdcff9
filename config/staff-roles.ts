import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { readYamlConfig } from './wards';
import { staffRoleMappingFileSetting } from './environment';

/** The roles of the engine (DESIGN.md, "Who may do what"). */
export const STAFF_ROLES = ['caseworker', 'supervisor', 'policy-author', 'policy-approver', 'auditor', 'administrator'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

/**
 * The roles that work a ward's tasks and residents, in their own wards only. A supervisor does everything a
 * caseworker does and is who an overdue task is escalated to: one list, so no ward route forgets either.
 */
export const WARD_WORK_ROLES = ['caseworker', 'supervisor'] as const satisfies readonly StaffRole[];

/** Whether someone with these roles and wards works `ward` (a caseworker or supervisor of it). */
export function worksWard(staff: { roles: readonly StaffRole[]; wards: readonly string[] }, ward: string | null | undefined): boolean {
  return typeof ward === 'string' && staff.wards.includes(ward) && staff.roles.some((r) => (WARD_WORK_ROLES as readonly StaffRole[]).includes(r));
}

export const DEFAULT_STAFF_ROLE_MAPPING_FILE = fileURLToPath(new URL('./staff-roles.yaml', import.meta.url));

const ClaimName = z.string().regex(/^[A-Za-z0-9_.:/-]{1,100}$/, 'a claim name (letters, digits, _ . : / -)');
const GroupValue = z.string().min(1).max(300);

const MappingSchema = z
  .object({
    claims: z
      .object({
        /** Claim holding the groups or roles the IdP gives this person. */
        roles: ClaimName,
        /** Claim holding the ward ids this person works for. */
        wards: ClaimName,
        /** Claim holding the display name. */
        name: ClaimName.default('name'),
      })
      .strict(),
    roles: z
      .object(
        Object.fromEntries(STAFF_ROLES.map((r) => [r, z.array(GroupValue).default([])])) as Record<StaffRole, z.ZodDefault<z.ZodArray<typeof GroupValue>>>,
      )
      .strict(),
  })
  .strict();

export type StaffRoleMapping = z.infer<typeof MappingSchema>;

/** The mapping file (`STAFF_ROLE_MAPPING_FILE`, default config/staff-roles.yaml), checked; errors name the file and the field. */
export function loadStaffRoleMapping(file: string = staffRoleMappingFileSetting() ?? DEFAULT_STAFF_ROLE_MAPPING_FILE): StaffRoleMapping {
  return readYamlConfig(file, MappingSchema);
}

/** A claim as a list of strings: IdPs send either a JSON array or one space-separated string. */
function claimValues(value: unknown): string[] {
  if (typeof value === 'string') return value.split(/\s+/).filter((v) => v !== '');
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

export interface MappedStaff {
  roles: StaffRole[];
  wards: string[];
  name: string;
}

/**
 * Roles and wards from ID-token claims. Anything the mapping does not name
 * grants nothing: unknown groups are ignored, and so are wards the city's
 * ward list does not have.
 */
export function mapStaffClaims(mapping: StaffRoleMapping, claims: Record<string, unknown>, knownWards: readonly string[]): MappedStaff {
  const groups = new Set(claimValues(claims[mapping.claims.roles]));
  const roles = STAFF_ROLES.filter((role) => mapping.roles[role].some((value) => groups.has(value)));
  const known = new Set(knownWards);
  const wards = [...new Set(claimValues(claims[mapping.claims.wards]))].filter((w) => known.has(w)).sort();
  const rawName = claims[mapping.claims.name];
  const name = typeof rawName === 'string' && rawName.trim() !== '' ? rawName.trim().slice(0, 200) : '';
  return { roles, wards, name };
}
