import { readdirSync, readFileSync } from 'node:fs';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import path from 'node:path';
import t from 'tap';
import { testApp } from '../helpers/app.ts';
import { ensureDashboardBuilt } from '../helpers/browser.ts';
import { DASHBOARD_DIST } from '../../server/src/http/dashboard.ts';

ensureDashboardBuilt();

t.test('the built dashboard is served at / with the right caching, offline', async (t) => {
  const h = await testApp(t);
  const html = { accept: 'text/html,application/xhtml+xml' };

  const index = await h.app.inject({ method: 'GET', url: '/', headers: html });
  t.equal(index.statusCode, 200);
  t.match(index.headers['content-type'], /text\/html/);
  t.equal(index.headers['cache-control'], 'no-cache', 'index.html is revalidated every time');
  t.match(index.body, /<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
  t.notMatch(index.body, /<script>|<script type="module">[^<]/, 'no inline script (strict CSP)');
  t.notMatch(index.body, /https?:\/\//, 'nothing loaded from elsewhere');

  const assets = readdirSync(path.join(DASHBOARD_DIST, 'assets'));
  const js = assets.find((f) => /^index-[\w-]+\.js$/.test(f))!;
  const asset = await h.app.inject({ method: 'GET', url: `/assets/${js}` });
  t.equal(asset.statusCode, 200);
  t.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable', 'hashed assets are cached for a year');
  t.match(asset.headers['content-type'], /javascript/);

  for (const route of ['/requests', '/requests/req_01jaaaaaaaaaaaaaaaaaaaaaaa', '/policies/pol_x', '/audit?eventType=created']) {
    const r = await h.app.inject({ method: 'GET', url: route, headers: html });
    t.equal(r.statusCode, 200, `${route} opens the dashboard`);
    t.equal(r.body, index.body);
  }

  // Sent compressed (written at build time) to whoever accepts it, with the same caching.
  const original = readFileSync(path.join(DASHBOARD_DIST, 'assets', js));
  const css = assets.find((f) => /^index-[\w-]+\.css$/.test(f))!;
  for (const [file, type] of [[js, /javascript/], [css, /text\/css/]] as const) {
    const plain = readFileSync(path.join(DASHBOARD_DIST, 'assets', file));
    const br = await h.app.inject({ method: 'GET', url: `/assets/${file}`, headers: { 'accept-encoding': 'gzip, deflate, br, zstd' } });
    t.equal(br.statusCode, 200);
    t.equal(br.headers['content-encoding'], 'br', `${file}: Brotli to a browser that takes it`);
    t.match(br.headers['content-type'], type);
    t.match(br.headers.vary, /accept-encoding/i, 'caches keep the encodings apart');
    t.equal(br.headers['cache-control'], 'public, max-age=31536000, immutable');
    t.ok(brotliDecompressSync(br.rawPayload).equals(plain), 'the same file once decompressed');
    t.ok(br.rawPayload.length < plain.length / 2, `${file}: ${plain.length} bytes sent as ${br.rawPayload.length}`);
  }
  const gz = await h.app.inject({ method: 'GET', url: `/assets/${js}`, headers: { 'accept-encoding': 'gzip' } });
  t.equal(gz.headers['content-encoding'], 'gzip', 'gzip where Brotli is not accepted');
  t.ok(gunzipSync(gz.rawPayload).equals(original));
  const identity = await h.app.inject({ method: 'GET', url: `/assets/${js}`, headers: { 'accept-encoding': 'identity' } });
  t.equal(identity.headers['content-encoding'], undefined, 'plain to a client that takes no encoding');
  t.ok(identity.rawPayload.equals(original));
  t.match(identity.headers.vary, /accept-encoding/i);

  const missing = await h.app.inject({ method: 'GET', url: '/assets/nope-123.js' });
  t.equal(missing.statusCode, 404);
  const api = await h.app.inject({ method: 'GET', url: '/api/nothing-here', headers: html });
  t.equal(api.statusCode, 404);
  t.equal(api.json().error.code, 'ROUTE_NOT_FOUND', 'unknown API paths stay JSON errors');
  const json = await h.app.inject({ method: 'GET', url: '/some/where' });
  t.equal(json.statusCode, 404, 'a non-browser client gets a 404, not a page');
});
