import t from 'tap';
import { testApp } from '../helpers/app.ts';
import { listenOn } from '../helpers/live.ts';
import { chromiumMissing, ensureDashboardBuilt, launchChromium, newPage, screenshot, signIn } from '../helpers/browser.ts';

const missing = chromiumMissing();
if (missing) {
  // Reported by tap as a skipped file, with the message saying how to install Chromium.
  t.plan(0, missing);
} else {
  ensureDashboardBuilt();

  t.test('dashboard pages in Chromium', async (t) => {
    const h = await testApp(t);
    const base = await listenOn(h.app);
    const browser = await launchChromium(t);

    t.test('policies: an invalid regex is shown at the field; the test box evaluates a draft unsaved', async (t) => {
      const { page } = await newPage(browser);
      await signIn(page, base, h.adminKey);
      await page.getByRole('link', { name: 'Policies' }).click();
      await page.getByRole('link', { name: 'New policy' }).click();
      await page.getByLabel('Name').fill('small payments');
      await page.getByLabel('Rules (JSON)').fill(JSON.stringify([{ match: { action: 'pay', 'params.memo': { $regex: '(unclosed' } }, decision: 'auto_approve' }]));
      await page.getByRole('button', { name: 'Create policy' }).click();
      const fieldError = page.locator('#err-rules');
      await fieldError.waitFor();
      t.match(await fieldError.innerText(), /rules\[0\]\.match.*\$regex/, 'the server\'s error, at the rules field');
      t.equal(await page.getByLabel('Rules (JSON)').getAttribute('aria-invalid'), 'true');
      t.equal((await h.call('GET', '/api/policies')).json().policies.length, 0, 'nothing saved');

      await page.getByLabel('Rules (JSON)').fill(JSON.stringify([{ match: { action: 'pay', 'params.amount': { $lt: 100 } }, decision: 'auto_approve' }]));
      await page.getByLabel('Sample request (JSON)').fill(JSON.stringify({ action: 'pay', params: { amount: 20 } }));
      await page.getByRole('button', { name: 'Test', exact: true }).click();
      const result = page.getByTestId('trial-result');
      await result.waitFor();
      t.match(await result.innerText(), /rule 0 matches → auto approve[\s\S]*auto approve — decided by this policy/);
      t.equal((await h.call('GET', '/api/policies')).json().policies.length, 0, 'testing saves nothing');
      await screenshot(page, 'policy-editor-desktop-light');
      await page.getByRole('button', { name: 'Create policy' }).click();
      await page.waitForURL(/\/policies\/pol_/);
      await page.getByRole('heading', { name: 'small payments' }).waitFor();
      t.equal((await h.call('GET', '/api/policies')).json().policies[0].name, 'small payments', 'saved once created');
      await page.getByRole('link', { name: 'Policies' }).first().click();
      await page.getByRole('link', { name: 'small payments' }).waitFor();
      await screenshot(page, 'policies-desktop-light');
    });

    t.test('keys: a new key is shown once and works; revoking a key signs its tab out', async (t) => {
      const { page } = await newPage(browser);
      await signIn(page, base, h.adminKey);
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByLabel('Name').fill('night-shift');
      await page.getByRole('checkbox', { name: 'request:create' }).uncheck();
      await page.getByRole('checkbox', { name: 'request:decide' }).check();
      await page.getByRole('button', { name: 'Create key' }).click();
      const shown = page.getByTestId('new-key');
      await shown.waitFor();
      const key = await shown.innerText();
      t.match(key, /^agk_/);
      t.match(await page.getByRole('dialog').innerText(), /shown only this once/);
      await page.getByRole('button', { name: 'I have copied it' }).click();
      t.equal(await page.getByText(key).count(), 0, 'gone once closed');

      // It works: another browser signs in with it.
      const { page: other } = await newPage(browser);
      await signIn(other, base, key);
      await other.getByRole('status').filter({ hasText: 'Live' }).waitFor();
      t.equal(await other.getByRole('link', { name: 'API keys' }).count(), 0);

      // Revoked from the first tab: the second is signed out, saying why.
      await page.getByRole('button', { name: 'Revoke night-shift' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
      await other.getByLabel('API key').waitFor({ timeout: 5000 });
      t.match(await other.locator('.info-note').innerText(), /revoked/);
      t.equal((await h.call('GET', '/api/requests', { key })).statusCode, 401);
    });

    t.test('audit: the tail shows a new event live, and pauses', async (t) => {
      const { page } = await newPage(browser);
      await signIn(page, base, h.adminKey);
      await page.getByRole('link', { name: 'Audit' }).click();
      await page.locator('tr[data-position]').first().waitFor();
      const created = (await h.call('POST', '/api/requests', { body: { action: 'audit_tail_check' } })).json().id as string;
      const row = page.locator('tbody tr').filter({ hasText: 'audit_tail_check' }).first();
      await row.waitFor({ timeout: 5000 });
      t.equal(await row.getByRole('link').getAttribute('href'), `/requests/${created}`, 'each entry links to its request');
      await screenshot(page, 'audit-desktop-light');

      await page.getByRole('button', { name: 'Pause live tail' }).click();
      await h.call('POST', `/api/requests/${created}/decide`, { body: { decision: 'denied', reason: 'check' } });
      await page.getByRole('button', { name: /Resume live tail \(1 new\)/ }).waitFor({ timeout: 5000 });
      t.equal(await page.locator('tbody tr').filter({ hasText: 'request.denied' }).count(), 0, 'held while paused');
      await page.getByRole('button', { name: /Resume live tail/ }).click();
      await page.locator('tbody tr').filter({ hasText: 'request.denied' }).first().waitFor();
    });

    t.test('webhooks: the secret is shown once; a test is sent and its delivery listed', async (t) => {
      const { page } = await newPage(browser);
      await signIn(page, base, h.adminKey);
      await page.getByRole('link', { name: 'Webhooks' }).click();
      await page.getByLabel('URL').fill('http://127.0.0.1:9/agentgate');
      await page.getByRole('button', { name: 'Create webhook' }).click();
      const secret = page.getByTestId('webhook-secret');
      await secret.waitFor();
      t.ok((await secret.innerText()).length >= 32, 'the signing secret, once');
      await page.getByRole('button', { name: 'I have copied it' }).click();
      await page.getByRole('button', { name: /Send a test event/ }).click();
      await page.locator('.info-note').waitFor();
      await page.getByRole('link', { name: 'http://127.0.0.1:9/agentgate' }).click();
      await page.locator('tbody tr').first().waitFor();
      t.match(await page.locator('tbody').innerText(), /Redeliver/);
    });

    t.test('requests: filters in the URL, dark theme and phone width', async (t) => {
      await h.call('POST', '/api/requests', { body: { action: 'deploy', urgency: 'critical' } });
      const { page } = await newPage(browser, { dark: true, phone: true });
      await signIn(page, base, h.adminKey);
      await page.locator('ol.queue li').first().waitFor();
      await screenshot(page, 'queue-phone-dark');
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      t.ok(width <= 390, `no sideways scrolling on a phone (${width}px)`);
      await page.goto(`${base}/requests?status=denied`);
      await page.locator('tbody tr').first().waitFor();
      t.match(await page.locator('tbody').innerText(), /audit_tail_check/);
      t.notMatch(await page.locator('tbody').innerText(), /deploy/, 'only denied ones');
      await screenshot(page, 'requests-phone-dark');
      const { page: desk } = await newPage(browser, { dark: true });
      await signIn(desk, base, h.adminKey);
      await desk.locator('ol.queue li').first().waitFor();
      await screenshot(desk, 'queue-desktop-dark');
    });
  });
}
