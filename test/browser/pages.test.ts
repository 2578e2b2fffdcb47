import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
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
      await page.getByRole('button', { name: /Send test to/ }).click();
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

    t.test('policies: enable, disable and delete, with a confirmation', async (t) => {
      const { page } = await newPage(browser);
      await signIn(page, base, h.adminKey);
      await page.getByRole('link', { name: 'Policies' }).click();
      const row = page.locator('tbody tr').filter({ hasText: 'small payments' });
      await row.waitFor();
      const policyId = (await h.call('GET', '/api/policies')).json().policies[0].id as string;
      const enabled = async () => (await h.call('GET', `/api/policies/${policyId}`)).json().enabled as boolean;

      await page.getByRole('button', { name: 'Disable small payments' }).click();
      await page.getByRole('button', { name: 'Enable small payments' }).waitFor();
      t.equal(await row.getByRole('cell').nth(3).innerText(), 'disabled');
      t.equal(await enabled(), false, 'disabled on the server');
      await page.getByRole('button', { name: 'Enable small payments' }).click();
      await page.getByRole('button', { name: 'Disable small payments' }).waitFor();
      t.equal(await row.getByRole('cell').nth(3).innerText(), 'enabled');
      t.equal(await enabled(), true, 'enabled again');

      // Delete asks first; keeping it changes nothing, and focus returns to the button.
      await page.getByRole('button', { name: 'Delete small payments' }).click();
      const dialog = page.getByRole('dialog', { name: 'Delete small payments?' });
      await dialog.waitFor();
      await dialog.getByRole('button', { name: 'Keep it' }).click();
      await dialog.waitFor({ state: 'detached' });
      t.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Delete small payments', 'focus goes back');
      t.equal((await h.call('GET', `/api/policies/${policyId}`)).statusCode, 200, 'kept');
      await page.getByRole('button', { name: 'Delete small payments' }).click();
      await dialog.getByRole('button', { name: 'Delete' }).click();
      await row.waitFor({ state: 'detached' });
      t.equal((await h.call('GET', '/api/policies')).json().policies.length, 0, 'deleted on the server');
      await page.getByText('No policies yet').waitFor();
    });

    t.test('deciding under a rule that requires a reason asks for one from the keyboard', async (t) => {
      const created = await h.call('POST', '/api/policies', { body: { name: 'wires need a reason', priority: 1, rules: [{ match: { action: 'wire_money' }, decision: 'route_to_human', requireReason: true }] } });
      t.equal(created.statusCode, 201);
      const agent = await h.key(['request:create', 'request:read'], { name: 'treasury-agent' });
      const id = (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'wire_money', params: { amount: 5000 }, urgency: 'critical' } })).json().id as string;
      const { page } = await newPage(browser);
      await signIn(page, base, h.adminKey);
      const row = page.locator(`li[data-id="${id}"]`);
      await row.waitFor();
      t.match(await row.innerText(), /reason required/, 'the queue says so before deciding');
      await row.locator('.row-meta').click();
      t.equal(await page.locator('li.row.selected').getAttribute('data-id'), id);
      await page.keyboard.press('a');
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      t.match(await dialog.innerText(), /the matching rule requires a reason/);
      t.equal(await page.evaluate(() => document.activeElement?.id), 'decision-reason', 'the reason box has focus');
      await page.keyboard.press('Enter');
      const alert = dialog.getByRole('alert');
      await alert.waitFor();
      t.match(await alert.innerText(), /requires a reason/, 'an empty reason is refused, in words');
      t.equal(await page.getByLabel('Reason (required)').getAttribute('aria-invalid'), 'true');
      t.equal((await h.call('GET', `/api/requests/${id}`)).json().status, 'pending', 'nothing was sent');
      await screenshot(page, 'reason-required-desktop-light');
      await page.keyboard.type('invoice 2026-118 matches the contract');
      await page.keyboard.press('Enter');
      await row.waitFor({ state: 'detached' });
      t.match((await h.call('GET', `/api/requests/${id}`)).json(), { status: 'approved', decisionReason: 'invoice 2026-118 matches the contract' });
    });

    t.test('requests: the filtered set exports as NDJSON and CSV, every page of it', async (t) => {
      // More than one page of the export's reads (100 a page), and others that the filter leaves out.
      for (let i = 0; i < 130; i++) {
        await h.call('POST', '/api/requests', { body: { action: 'bulk_export', params: { i, note: i === 8 ? 'has "quotes", commas' : 'plain' }, urgency: i % 2 ? 'low' : 'high' } });
      }
      await h.call('POST', '/api/requests', { body: { action: 'not_exported', urgency: 'high' } });
      const expected = new Set<string>();
      for (let cursor: string | null = null; ;) {
        const res: { requests: { id: string }[]; pagination: { nextCursor: string | null } } = (await h.call('GET', `/api/requests?action=bulk_export&urgency=high&limit=100${cursor ? `&cursor=${cursor}` : ''}`)).json();
        for (const r of res.requests) expected.add(r.id);
        cursor = res.pagination.nextCursor;
        if (!cursor) break;
      }
      t.equal(expected.size, 65);

      const { page } = await newPage(browser);
      await signIn(page, base, h.adminKey);
      await page.goto(`${base}/requests?action=bulk_export&urgency=high`);
      await page.getByText('65 matching').waitFor();
      const download = async (label: string) => {
        const [file] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: label }).click()]);
        return { name: file.suggestedFilename(), text: await readFile((await file.path())!, 'utf8') };
      };

      const ndjson = await download('Export NDJSON');
      t.match(ndjson.name, /^agentgate-requests-.*\.ndjson$/);
      const lines = ndjson.text.trimEnd().split('\n').map((l) => JSON.parse(l));
      t.equal(lines.length, 65, 'one line a request');
      t.same(new Set(lines.map((r) => r.id)), expected, 'exactly the filtered set');
      t.ok(lines.every((r) => r.action === 'bulk_export' && r.urgency === 'high'));
      await page.getByText('Exported 65 requests').waitFor();

      const csv = await download('Export CSV');
      t.match(csv.name, /^agentgate-requests-.*\.csv$/);
      const rows = csv.text.trimEnd().split('\r\n');
      t.equal(rows[0], 'id,action,status,urgency,createdAt,decidedAt,decidedBy,decisionReason,expiresAt,params,context');
      t.equal(rows.length, 66, 'a header and a row a request');
      t.same(new Set(rows.slice(1).map((r) => r.split(',')[0])), expected);
      t.ok(rows.some((r) => r.includes('""has \\""quotes\\"", commas""')), 'quotes inside JSON cells are doubled');
    });

    t.test('accessibility: axe finds no WCAG 2.2 A/AA violation on any page, light or dark', async (t) => {
      // axe-core runs inside the page; evaluated through the browser's protocol, so the
      // page's strict Content-Security-Policy stays as it is.
      const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
      const detail = (await h.call('GET', '/api/requests?limit=1')).json().requests[0].id as string;
      const webhook = (await h.call('GET', '/api/webhooks')).json().webhooks[0].id as string;
      const pages = ['/', '/requests', `/requests/${detail}`, '/audit', '/policies', '/policies/new', '/keys', '/webhooks', `/webhooks/${webhook}`];
      for (const dark of [false, true]) {
        const { page } = await newPage(browser, { dark });
        await signIn(page, base, h.adminKey);
        for (const path of pages) {
          await page.goto(`${base}${path}`);
          await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
          // Past the skeletons: the page's own content is what is judged.
          await page.waitForFunction(() => !document.querySelector('.skeleton'));
          const violations = await page.evaluate(async (source) => {
            if (!(window as unknown as { axe?: unknown }).axe) (0, eval)(source);
            const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[]; failureSummary: string }[] }[] }> } }).axe;
            const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
            return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')} — ${n.failureSummary.replace(/\s+/g, ' ')}`).join('; ')}`);
          }, axeSource);
          t.same(violations, [], `${path} (${dark ? 'dark' : 'light'})`);
        }
      }
    });
  });
}
