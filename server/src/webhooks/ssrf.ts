/**
 * SSRF guard for webhook URLs: a webhook must not make the server call into its own
 * network (loopback, private ranges, cloud metadata endpoints, …). Checked when a
 * webhook is saved and again at every connection, since DNS answers can change.
 */
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';

interface Rule {
  reason: string;
  list: BlockList;
}

function rule(reason: string, v4: string[], v6: string[]): Rule {
  const list = new BlockList();
  for (const cidr of v4) {
    const [net, bits] = cidr.split('/') as [string, string];
    list.addSubnet(net, Number(bits), 'ipv4');
  }
  for (const cidr of v6) {
    const [net, bits] = cidr.split('/') as [string, string];
    list.addSubnet(net, Number(bits), 'ipv6');
  }
  return { reason, list };
}

// Order matters: the first match names the reason (metadata before link-local/private).
// BlockList matches IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) against the IPv4 rules.
const RULES: Rule[] = [
  rule('cloud metadata address', ['169.254.169.254/32', '169.254.170.2/32', '100.100.100.200/32'], ['fd00:ec2::254/128']),
  rule('unspecified address', ['0.0.0.0/8'], ['::/128']),
  rule('loopback address', ['127.0.0.0/8'], ['::1/128']),
  rule('private address', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], ['fc00::/7']),
  rule('link-local address', ['169.254.0.0/16'], ['fe80::/10']),
  rule('shared address space (CGNAT)', ['100.64.0.0/10'], []),
  rule('multicast address', ['224.0.0.0/4'], ['ff00::/8']),
  rule('reserved address', ['240.0.0.0/4', '192.0.0.0/24', '192.0.2.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24'],
    ['100::/64', '2001:db8::/32']),
];

/** Host names that reach a cloud metadata service whatever they resolve to. */
const METADATA_HOSTS = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

/** The eight 16-bit groups of an IPv6 address (for reading an embedded IPv4 address). */
function ipv6Groups(address: string): number[] | null {
  let a = address.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) {
    const o = dotted[1]!.split('.').map(Number);
    a = a.slice(0, -dotted[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = a.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const missing = 8 - h.length - t.length;
  if (a.includes('::') ? missing < 0 : missing !== 0) return null;
  const groups = [...h, ...Array(a.includes('::') ? missing : 0).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : null;
}

const v4From = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;

/**
 * IPv4 addresses carried inside IPv6 forms that a router may translate to IPv4:
 * IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
 * (IPv4-mapped ::ffff:a.b.c.d is handled by BlockList itself.)
 */
function embeddedIpv4(address: string): string | null {
  const g = ipv6Groups(address);
  if (!g) return null;
  if (g.slice(0, 6).every((x) => x === 0) && (g[6]! !== 0 || g[7]! > 1)) return v4From(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return v4From(g[6]!, g[7]!);
  if (g[0] === 0x2002) return v4From(g[1]!, g[2]!);
  return null;
}

/** Why an IP address may not be called, or null when it is a public address. Pure: no DNS. */
export function classifyAddress(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const r of RULES) if (r.list.check(address, type)) return r.reason;
  if (family === 6) {
    const inner = embeddedIpv4(address);
    if (inner) {
      const reason = classifyAddress(inner);
      if (reason) return `${reason} (embedded in ${address})`;
    }
  }
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
 * Resolves the URL's host and refuses it when any address is not public (an attacker
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
