/**
 * SSRF guard for webhook URLs: a webhook must not make the server call into its own
 * network (loopback, private ranges, cloud metadata endpoints, …): only global unicast
 * addresses pass. Checked when a webhook is saved and again at every connection, since
 * DNS answers can change.
 */
import { lookup as dnsLookup } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Only global unicast destinations are allowed. ipaddr.js knows the special-purpose
 * registries of both families (private, shared, documentation, benchmarking, 6to4,
 * Teredo, NAT64, IPv4-translated, site-local, …), so an allow-list on its `unicast`
 * range closes every special block at once, including ones a deny-list forgets.
 */
const METADATA_ADDRESSES = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254']);

/** Host names that reach a cloud metadata service whatever they resolve to. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

/** Readable names for the ranges ipaddr.js reports; any other range is named as it comes. */
const RANGE_REASONS: Record<string, string> = {
  unspecified: 'unspecified address',
  broadcast: 'broadcast address',
  loopback: 'loopback address',
  private: 'private address',
  uniqueLocal: 'private address (unique local)',
  linkLocal: 'link-local address',
  carrierGradeNat: 'shared address space (CGNAT)',
  multicast: 'multicast address',
  reserved: 'reserved address',
  ipv4Mapped: 'IPv4-mapped address',
  rfc6145: 'IPv4-translated address',
  rfc6052: 'NAT64 address',
  '6to4': '6to4 address',
  teredo: 'Teredo address',
  deprecatedSiteLocal: 'site-local address (deprecated)',
  benchmarking: 'benchmarking address',
  discard: 'discard-only address',
};

/** Why an IP address may not be called, or null when it is global unicast. Pure: no DNS. */
export function classifyAddress(address: string): string | null {
  let bare = address.split('%')[0]!;
  const family = isIP(bare);
  if (family === 0) return 'not an IP address';
  // The WHATWG serialisation (hex groups only): ipaddr.js reads a dotted tail such as
  // ::8.8.8.8 as IPv4-mapped, where the socket layer sees IPv4-compatible ::808:808.
  if (family === 6) bare = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  let ip = ipaddr.parse(bare);
  // ::ffff:a.b.c.d is the IPv4 address a.b.c.d to the socket layer: judge that.
  if (ip instanceof ipaddr.IPv6 && ip.isIPv4MappedAddress()) ip = ip.toIPv4Address();
  const normal = ip.toNormalizedString();
  if (METADATA_ADDRESSES.has(normal) || METADATA_ADDRESSES.has(ip.toString())) return 'cloud metadata address';
  const range = ip.range();
  if (range !== 'unicast') return RANGE_REASONS[range] ?? `${range} address (not global unicast)`;
  // IPv4-compatible ::a.b.c.d (deprecated, ::/96) is "unicast" to ipaddr.js, yet some
  // stacks still route it to the IPv4 address inside.
  if (ip instanceof ipaddr.IPv6 && ip.parts.slice(0, 6).every((p) => p === 0)) return 'IPv4-compatible address (deprecated)';
  return null;
}

/** Why a host name may not be called before any DNS lookup (a metadata name), or null. */
export function classifyHostname(hostname: string): string | null {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  if (METADATA_HOSTS.has(h)) return 'cloud metadata host';
  if (h === 'localhost' || h.endsWith('.localhost')) return 'loopback address';
  return null;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

export type Lookup = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: Lookup = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

export type UrlVerdict = { ok: true; addresses: ResolvedAddress[] } | { ok: false; reason: string };

/** The host of a URL without IPv6 brackets. */
export const urlHost = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/**
 * Resolves the URL's host and refuses it when any address is not global unicast (an attacker
 * controlling DNS may return several). `allowPrivate` lifts the address rules (for
 * webhooks on a private network, and tests), never the scheme rule.
 */
export async function checkWebhookUrl(rawUrl: string, opts: { allowPrivate: boolean; lookup?: Lookup }): Promise<UrlVerdict> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return { ok: false, reason: 'not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: 'only http and https URLs are allowed' };
  const host = urlHost(url);
  // With private addresses allowed there is nothing to refuse, so no lookup either.
  if (opts.allowPrivate) return { ok: true, addresses: [] };
  const byName = classifyHostname(host);
  if (byName) return { ok: false, reason: `${host} is a ${byName}` };
  let addresses: ResolvedAddress[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    try {
      addresses = await (opts.lookup ?? systemLookup)(host);
    } catch (err) {
      return { ok: false, reason: `${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
    }
    if (addresses.length === 0) return { ok: false, reason: `${host} does not resolve` };
  }
  for (const a of addresses) {
    const reason = classifyAddress(a.address);
    if (reason) return { ok: false, reason: `${host} resolves to ${a.address}, a ${reason}` };
  }
  return { ok: true, addresses };
}
