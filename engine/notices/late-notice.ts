import type { Channel } from '../../store/schema';

/**
 * The late-application notice: what a rule's template set says to a resident
 * whose event reached the engine after the rule's deadline had passed (a
 * registry backlog, a daily evaluation catching up). It must not name the
 * passed date; it says the usual deadline has passed and what can still be done.
 *
 * A set provides it with optional parts next to its ordinary ones,
 * `templates/<set>/<locale>/late.<part>.hbs`:
 *
 * - `late.body` (required for email and letter): replaces `body`;
 * - `late.push.body` (required for push): replaces `push.body`;
 * - `late.email.subject` (optional): replaces `email.subject`, which is used
 *   as it is when the set has no late subject.
 *
 * The layouts are shared with ordinary notices. A late notice is rendered
 * without the `deadline` variable, so a late part (or a layout) that names the
 * deadline fails to render rather than quote a passed date.
 */
export const LATE_VARIANT = 'late';
export type NoticeVariant = typeof LATE_VARIANT;

/** The rule-owned parts a late notice replaces, with whether the late version is required for a channel that uses the part. */
export const LATE_REPLACED_PARTS: Readonly<Record<string, { required: boolean }>> = {
  body: { required: true },
  'push.body': { required: true },
  'email.subject': { required: false },
};

/** `body` → `late.body`. */
export function latePartName(part: string): string {
  return `${LATE_VARIANT}.${part}`;
}

/** Whether the template set has a part (for the resident's locale, or its fallback). */
export type HasPart = (part: string) => boolean;

/** The part of a template set a notice of this variant renders in place of `part`. */
export function variantPart(part: string, variant: NoticeVariant | undefined, has: HasPart): string {
  if (variant !== LATE_VARIANT) return part;
  const replaced = LATE_REPLACED_PARTS[part];
  if (!replaced) return part;
  const late = latePartName(part);
  return replaced.required || has(late) ? late : part;
}

/** The late parts a channel's notice needs. */
export function requiredLateParts(channel: Channel): string[] {
  switch (channel) {
    case 'email':
    case 'letter':
      return [latePartName('body')];
    case 'push':
      return [latePartName('push.body')];
  }
}

/** Whether a template set gives a late-application notice on every channel the plan sends on. */
export function providesLateNotice(channels: readonly Channel[], has: HasPart): boolean {
  return channels.length > 0 && channels.every((channel) => requiredLateParts(channel).every(has));
}
