/**
 * Which push endpoints the engine will talk to. A subscription's endpoint is a
 * URL the browser hands over, so without a policy anyone who can enrol makes
 * the engine send HTTP requests to any host (server-side request forgery:
 * loopback admin ports, the cloud metadata address, the city network).
 *
 * An endpoint is accepted only when it is an https URL without userinfo, on a
 * host of the configured allow-list of push services, on port 443 unless the
 * allow-list entry names another port, and its host resolves only to public
 * addresses. The check runs when a browser subscribes and again right before
 * every send (a row stored before the policy, or under an older allow-list,
 * is not sent to); the send then connects to the addresses this check saw, so
 * a DNS answer that changes in between (rebinding) cannot redirect it.
 *
 * The local push receiver of the tests and the demo (plain http on
 * 127.0.0.1) passes only through configuration: its `host:port` in
 * PUSH_SERVICE_HOSTS, PUSH_ALLOW_INSECURE_HTTP=true and
 * PUSH_ALLOW_PRIVATE_ADDRESSES=true. No code path allows it otherwise.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import net from 'node:net';

import type { PushEndpointPolicy, PushServiceHost } from '../../config/push-settings';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

declare const checked: unique symbol;

/** An endpoint that passed the policy, with the addresses it was checked at; only checkPushEndpoint makes one. */
export interface CheckedPushEndpoint {
  readonly href: string;
  readonly url: URL;
  readonly addresses: readonly ResolvedAddress[];
  readonly [checked]: true;
}

export type EndpointCheck =
  | { ok: true; endpoint: CheckedPushEndpoint }
  /**
   * `refused`: the endpoint will never be acceptable under this policy.
   * `unresolved`: its name did not resolve now (which may pass later).
   */
  | { ok: false; kind: 'refused' | 'unresolved'; reason: string };

export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = async (hostname) => {
  const answers = await dnsLookup(hostname, { all: true, verbatim: true });
  return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

const refused = (reason: string): EndpointCheck => ({ ok: false, kind: 'refused', reason });

/**
 * Checks an endpoint against the policy and resolves its host; the reason of
 * a refusal names what is wrong without echoing the URL (a capability).
 */
export async function checkPushEndpoint(endpoint: string, policy: PushEndpointPolicy, resolve: Resolver = systemResolver): Promise<EndpointCheck> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return refused('not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && policy.allowInsecureHttp)) {
    return refused(`must be an https URL (got ${url.protocol})`);
  }
  if (url.username || url.password) return refused('must not carry a user name or password');
  // The WHATWG parser lower-cases, punycodes and bracket-wraps IPv6; one trailing dot names the same host.
  const hostname = url.hostname.replace(/\.$/, '');
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  const entry = policy.hosts.find((h) => hostMatches(h, hostname));
  if (!entry) return refused(`host ${hostname} is not one of the allowed push services`);
  if (port !== (entry.port ?? 443)) return refused(`port ${port} is not allowed for ${hostname}`);

  let addresses: ResolvedAddress[];
  const literal = hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(literal)) {
    addresses = [{ address: literal, family: net.isIPv6(literal) ? 6 : 4 }];
  } else {
    try {
      addresses = await resolve(hostname);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      return { ok: false, kind: 'unresolved', reason: `host ${hostname} did not resolve${typeof code === 'string' ? ` (${code})` : ''}` };
    }
    if (addresses.length === 0) return { ok: false, kind: 'unresolved', reason: `host ${hostname} did not resolve` };
  }
  if (!policy.allowPrivateAddresses) {
    // Every address: a name with one public and one private address would let the connection pick the private one.
    const nonPublic = addresses.find((a) => !isPublicAddress(a.address));
    if (nonPublic) return refused(`host ${hostname} resolves to a non-public address (${nonPublic.address})`);
  }
  return { ok: true, endpoint: { href: url.href, url, addresses } as unknown as CheckedPushEndpoint };
}

function hostMatches(entry: PushServiceHost, hostname: string): boolean {
  if (hostname === entry.suffix) return !entry.subdomainsOnly;
  // Only on a label boundary: "evilfcm.googleapis.com" is not under "fcm.googleapis.com".
  return !net.isIP(hostname) && hostname.endsWith(`.${entry.suffix}`);
}

/**
 * Address ranges that are not the public internet (IANA special-purpose
 * registries): loopback, private, CGNAT, link-local, documentation,
 * benchmarking, multicast, reserved; for IPv6 everything outside global
 * unicast 2000::/3, plus unique-local, the transition prefixes whose
 * embedded IPv4 address is checked separately, and documentation.
 */
// Two lists: a BlockList matches IPv4 addresses against IPv6 rules too (as
// ::ffff:a.b.c.d), so one list with ::/3 in it would refuse every IPv4 address.
const NON_PUBLIC_V4 = new net.BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  NON_PUBLIC_V4.addSubnet(network, prefix, 'ipv4');
}
const NON_PUBLIC_V6 = new net.BlockList();
for (const [network, prefix] of [
  ['::', 3],
  ['4000::', 2],
  ['8000::', 1], // outside 2000::/3 (covers ::, ::1, fc00::/7, fe80::/10, ff00::/8)
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['3fff::', 20],
] as const) {
  NON_PUBLIC_V6.addSubnet(network, prefix, 'ipv6');
}

/** An IPv4 address carried inside an IPv6 one (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96), or null. */
function embeddedIPv4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::ffff:0:|64:ff9b::)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const high = parseInt(hex[1]!, 16);
    const low = parseInt(hex[2]!, 16);
    return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
  }
  return null;
}

export function isPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').split('%')[0]!;
  if (net.isIPv4(bare)) return !NON_PUBLIC_V4.check(bare, 'ipv4');
  if (!net.isIPv6(bare)) return false;
  const v4 = embeddedIPv4(bare);
  if (v4 !== null) return net.isIPv4(v4) && !NON_PUBLIC_V4.check(v4, 'ipv4');
  // Other IPv4-translation forms (64:ff9b:1::/48 local NAT64) are not global either.
  if (bare.toLowerCase().startsWith('64:ff9b:')) return false;
  return !NON_PUBLIC_V6.check(bare, 'ipv6');
}
