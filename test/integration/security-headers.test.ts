/**
 * Security headers on every HTML page and API answer, and Swagger UI still working
 * under that Content-Security-Policy in a real Chromium.
 */
import { existsSync } from 'node:fs';
import t from 'tap';
import { chromium } from 'playwright-core';
import { testApp } from '../helpers/app.ts';

const CHROMIUM = '/usr/bin/chromium';

t.test('HTML pages and API answers carry the security headers', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create']);
  const created = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy' } });
  const links = await h.call('POST', `/api/requests/${created.json().id}/tokens`, { body: {} });
  const token = links.json().tokens.approve.token as string;

  for (const url of ['/', '/docs', '/docs/', '/docs/static/index.html', `/decide?token=${token}`, '/api/requests', '/no/such/page']) {
    const res = await h.app.inject({ method: 'GET', url });
    const csp = String(res.headers['content-security-policy'] ?? '');
    t.match(csp, /frame-ancestors 'none'/, `${url}: CSP forbids framing`);
    t.notMatch(csp, /script-src[^;]*'unsafe-inline'/, `${url}: no inline scripts allowed`);
    t.equal(res.headers['x-frame-options'], 'DENY', `${url}: X-Frame-Options`);
    t.equal(res.headers['x-content-type-options'], 'nosniff', `${url}: nosniff`);
    t.equal(res.headers['referrer-policy'], 'no-referrer', `${url}: Referrer-Policy`);
  }
  const decisionPage = await h.app.inject({ method: 'GET', url: `/decide?token=${token}` });
  t.match(String(decisionPage.headers['content-security-policy']), /default-src 'none'/, 'a decision page keeps its stricter policy');
});

t.test('API answers carry the headers that matter for JSON; pages also those that govern documents', async (t) => {
  const h = await testApp(t);
  const page = await h.app.inject({ method: 'GET', url: '/' });
  for (const url of ['/api/requests', '/api/no-such-route']) {
    const api = await h.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${h.adminKey}` } });
    t.equal(api.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'", `${url}: nothing loads or runs if it is rendered`);
    for (const name of ['cross-origin-resource-policy', 'strict-transport-security', 'x-content-type-options', 'x-frame-options', 'referrer-policy']) {
      t.ok(api.headers[name], `${url}: ${name}`);
      t.equal(api.headers[name], page.headers[name], `${url}: ${name} as on pages`);
    }
    for (const name of ['cross-origin-opener-policy', 'origin-agent-cluster', 'x-dns-prefetch-control', 'x-xss-protection']) {
      t.equal(api.headers[name], undefined, `${url}: no ${name} (documents only)`);
      t.ok(page.headers[name], `a page has ${name}`);
    }
  }
  t.match(String(page.headers['content-security-policy']), /script-src 'self'/, 'a page runs only its own scripts');
});

t.test('Swagger UI renders under the policy, with no violation', { skip: existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}` }, async (t) => {
  const h = await testApp(t);
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (h.app.server.address() as { port: number }).port;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--disable-dev-shm-usage'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const violations: string[] = [];
  page.on('console', (m) => { if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
  await page.goto(`http://127.0.0.1:${port}/docs/`);
  await page.waitForSelector('.swagger-ui .info .title', { timeout: 60_000 });
  t.match(await page.textContent('.swagger-ui .info .title'), /AgentGate API/, 'the document loaded and rendered');
  await page.waitForSelector('.opblock', { timeout: 60_000 });
  t.ok(await page.locator('.opblock').count() > 10, 'the operations are listed');
  t.same(violations, [], 'no Content-Security-Policy violation');
});
