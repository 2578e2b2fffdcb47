import t from 'tap';
import { checkWebhookUrl, classifyAddress, classifyHostname, type Lookup } from '../../server/src/webhooks/ssrf.ts';

t.test('each refused address class, IPv4 and IPv6, is named', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['127.0.0.1', /loopback/], ['127.255.0.9', /loopback/], ['::1', /loopback/],
    ['10.1.2.3', /private/], ['172.16.0.1', /private/], ['172.31.255.254', /private/], ['192.168.1.1', /private/],
    ['fc00::1', /private/], ['fd12:3456::1', /private/],
    ['169.254.1.1', /link-local/], ['fe80::1', /link-local/], ['febf::1', /link-local/],
    ['224.0.0.1', /multicast/], ['239.255.255.250', /multicast/], ['ff02::1', /multicast/],
    ['0.0.0.0', /unspecified/], ['0.1.2.3', /unspecified/], ['::', /unspecified/],
    ['100.64.0.1', /CGNAT/], ['100.127.255.254', /CGNAT/],
    ['169.254.169.254', /metadata/], ['fd00:ec2::254', /metadata/], ['169.254.170.2', /metadata/],
    ['255.255.255.255', /broadcast/], ['240.0.0.1', /reserved/], ['2001:db8::1', /reserved/],
    // IPv4 inside IPv6
    ['::ffff:127.0.0.1', /loopback/], ['::ffff:7f00:1', /loopback/], ['::ffff:10.0.0.1', /private/],
    ['::ffff:169.254.169.254', /metadata/], ['::7f00:1', /IPv4-compatible/], ['::8.8.8.8', /IPv4-compatible/],
    // Translation and tunnel prefixes lead wherever the embedded IPv4 address does: none is global unicast.
    ['64:ff9b::a00:1', /NAT64/], ['64:ff9b::808:808', /NAT64/], ['64:ff9b:1::a00:1', /NAT64/],
    ['2002:c0a8:101::1', /6to4/], ['2001::1', /Teredo/], ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo/],
    ['::ffff:0:a00:1', /IPv4-translated/], ['::ffff:0:808:808', /IPv4-translated/],
    ['fec0::1', /site-local/], ['192.88.99.1', /reserved/], ['192.0.2.1', /reserved/], ['198.18.0.1', /./],
    ['2001:2::1', /benchmarking/], ['100::1', /discard/],
  ];
  for (const [address, reason] of cases) t.match(classifyAddress(address), reason, address);
});

t.test('public addresses pass, including near the edges of the refused ranges', async (t) => {
  for (const address of ['8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.1', '100.63.255.255', '100.128.0.1',
    '11.0.0.1', '169.253.255.255', '223.255.255.255', '2606:4700:4700::1111', '2a00:1450:4001::1', '::ffff:8.8.8.8']) {
    t.equal(classifyAddress(address), null, address);
  }
});

t.test('metadata host names and localhost are refused by name, before DNS', async (t) => {
  t.match(classifyHostname('metadata.google.internal'), /metadata/);
  t.match(classifyHostname('METADATA.GOOGLE.INTERNAL.'), /metadata/);
  t.match(classifyHostname('localhost'), /loopback/);
  t.match(classifyHostname('app.localhost'), /loopback/);
  t.equal(classifyHostname('hooks.example.com'), null);
});

const fakeDns = (table: Record<string, string[]>): Lookup => async (host) => {
  const found = table[host];
  if (!found) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return found.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

t.test('a URL is refused when any address its host resolves to is not public', async (t) => {
  const lookup = fakeDns({
    'public.example': ['93.184.216.34', '2606:2800:220:1::1'],
    'rebind.example': ['93.184.216.34', '10.0.0.5'],
    'inside.example': ['fd00::5'],
  });
  t.match(await checkWebhookUrl('https://public.example/hook', { allowPrivate: false, lookup }), { ok: true });
  t.match(await checkWebhookUrl('https://rebind.example/hook', { allowPrivate: false, lookup }), { ok: false, reason: /10\.0\.0\.5, a private address/ });
  t.match(await checkWebhookUrl('https://inside.example/hook', { allowPrivate: false, lookup }), { ok: false, reason: /private/ });
  t.match(await checkWebhookUrl('https://missing.example/hook', { allowPrivate: false, lookup }), { ok: false, reason: /does not resolve/ });
  t.match(await checkWebhookUrl('http://[::ffff:127.0.0.1]:8080/', { allowPrivate: false, lookup }), { ok: false, reason: /loopback/ });
  t.match(await checkWebhookUrl('http://2130706433/', { allowPrivate: false, lookup }), { ok: false, reason: /127\.0\.0\.1.*loopback/ }, 'numeric host form');
  t.match(await checkWebhookUrl('file:///etc/passwd', { allowPrivate: false, lookup }), { ok: false, reason: /http/ });
});

t.test('allowPrivate lifts the address rules but not the scheme rule', async (t) => {
  const lookup = fakeDns({ 'inside.example': ['10.0.0.5'] });
  t.match(await checkWebhookUrl('http://127.0.0.1:9/', { allowPrivate: true, lookup }), { ok: true });
  t.match(await checkWebhookUrl('http://inside.example/', { allowPrivate: true, lookup }), { ok: true });
  t.match(await checkWebhookUrl('http://unresolvable.example/', { allowPrivate: true, lookup }), { ok: true }, 'no lookup at all');
  t.match(await checkWebhookUrl('ftp://127.0.0.1/', { allowPrivate: true, lookup }), { ok: false });
});
