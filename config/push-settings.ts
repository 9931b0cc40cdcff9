/**
 * The push settings of the environment: which push services the engine talks to (the endpoint policy's
 * allow-list, channels/push/push-endpoint-policy.ts applies it), how many browsers one resident may
 * subscribe and how long an enrolment link stays valid.
 */
import net from 'node:net';
import { z } from 'zod';
import { formatIssues } from '../foundation/zod-issues';

/** One allow-list entry: a host (with its subdomains) or, with `*.`, only its subdomains; optionally one port. */
export interface PushServiceHost {
  suffix: string;
  subdomainsOnly: boolean;
  /** Null: port 443 only. */
  port: number | null;
}

export interface PushEndpointPolicy {
  hosts: readonly PushServiceHost[];
  /** Plain http (the VAPID token and the encrypted notice in clear on the wire): local receivers only. */
  allowInsecureHttp: boolean;
  /** Loopback, private, link-local… addresses: local receivers only. */
  allowPrivateAddresses: boolean;
}

export interface PushSettings {
  endpoints: PushEndpointPolicy;
  /** Browsers one resident may have subscribed at once. */
  maxDevicesPerResident: number;
  /** How long an enrolment link stays valid. */
  enrolmentTtlDays: number;
}

/**
 * The browsers' push services (2025): Chrome and other Chromium browsers use
 * Firebase Cloud Messaging (fcm.googleapis.com), Firefox Mozilla's autopush
 * (updates.push.services.mozilla.com), Edge the Windows Push Notification
 * Services (wns2-*.notify.windows.com and similar), Safari Apple's
 * (web.push.apple.com, under *.push.apple.com).
 */
export const DEFAULT_PUSH_SERVICE_HOSTS = 'fcm.googleapis.com,updates.push.services.mozilla.com,*.notify.windows.com,*.push.apple.com';

export const DEFAULT_MAX_DEVICES_PER_RESIDENT = 5;
export const DEFAULT_ENROLMENT_TTL_DAYS = 14;

const HOST_LABELS = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function parseHostEntry(entry: string): PushServiceHost | string {
  const trimmed = entry.trim().toLowerCase();
  const match = /^(.+?)(?::(\d{1,5}))?$/.exec(trimmed);
  const host = match?.[1] ?? '';
  const port = match?.[2] === undefined ? null : Number(match[2]);
  if (port !== null && (port < 1 || port > 65535)) return `"${entry}": port out of range`;
  if (net.isIPv4(host)) return { suffix: host, subdomainsOnly: false, port };
  if (!HOST_LABELS.test(host)) return `"${entry}": expected a host name (optionally "*." first, ":port" last) or an IPv4 address`;
  // A bare top-level label ("com") would allow half the internet.
  if (!host.replace(/^\*\./, '').includes('.') && host !== 'localhost') return `"${entry}": name at least two labels (push.example, not example)`;
  return host.startsWith('*.') ? { suffix: host.slice(2), subdomainsOnly: true, port } : { suffix: host, subdomainsOnly: false, port };
}

const booleanSetting = z
  .enum(['true', 'false', '1', '0', ''])
  .default('false')
  .transform((v) => v === 'true' || v === '1');

const PushEnvSchema = z.object({
  PUSH_SERVICE_HOSTS: z
    .string()
    .default(DEFAULT_PUSH_SERVICE_HOSTS)
    .transform((value, ctx) => {
      const entries = value.split(',').filter((e) => e.trim() !== '');
      if (entries.length === 0) ctx.addIssue({ code: 'custom', message: 'name at least one push service host' });
      const hosts: PushServiceHost[] = [];
      for (const entry of entries) {
        const parsed = parseHostEntry(entry);
        if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
        else hosts.push(parsed);
      }
      return hosts;
    }),
  PUSH_ALLOW_INSECURE_HTTP: booleanSetting,
  PUSH_ALLOW_PRIVATE_ADDRESSES: booleanSetting,
  PUSH_MAX_DEVICES_PER_RESIDENT: z.coerce.number().int().min(1).max(100).default(DEFAULT_MAX_DEVICES_PER_RESIDENT),
  PUSH_ENROLMENT_TTL_DAYS: z.coerce.number().int().min(1).max(365).default(DEFAULT_ENROLMENT_TTL_DAYS),
});

/** The push settings of the environment; problems name the variable. */
export function parsePushSettings(env: NodeJS.ProcessEnv): { success: true; settings: PushSettings } | { success: false; problems: string[] } {
  const parsed = PushEnvSchema.safeParse(env);
  if (!parsed.success) return { success: false, problems: formatIssues(parsed.error.issues, '') };
  const e = parsed.data;
  return {
    success: true,
    settings: {
      endpoints: { hosts: e.PUSH_SERVICE_HOSTS, allowInsecureHttp: e.PUSH_ALLOW_INSECURE_HTTP, allowPrivateAddresses: e.PUSH_ALLOW_PRIVATE_ADDRESSES },
      maxDevicesPerResident: e.PUSH_MAX_DEVICES_PER_RESIDENT,
      enrolmentTtlDays: e.PUSH_ENROLMENT_TTL_DAYS,
    },
  };
}

/** The settings of an environment, throwing with every problem (for start-up). */
export function pushSettingsFrom(env: NodeJS.ProcessEnv): PushSettings {
  const result = parsePushSettings(env);
  if (!result.success) throw new Error(`invalid push setting — ${result.problems.join('; ')}`);
  return result.settings;
}
