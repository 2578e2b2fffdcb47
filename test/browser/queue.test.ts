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

  t.test('the queue: sign in, live arrivals, keyboard decisions, decisions made elsewhere', async (t) => {
    const h = await testApp(t);
    const base = await listenOn(h.app);
    const browser = await launchChromium(t);
    const reviewer = await h.key(['request:read', 'request:decide'], { name: 'alice' });
    const agent = await h.key(['request:create', 'request:read'], { name: 'mailer-agent' });

    const { page } = await newPage(browser);
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // Offline-ready: the page loads nothing from anywhere but its own server.
    const foreign: string[] = [];
    const own = new URL(base).host;
    page.on('request', (r) => { if (new URL(r.url()).host !== own) foreign.push(r.url()); });
    await signIn(page, base, reviewer.key);
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await page.getByText('Nothing waits for a decision').waitFor();
    t.match(await page.locator('.empty').innerText(), /curl -X POST .*\/api\/requests/, 'the empty queue says what to do next');
    t.equal(await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie), '{}{}', 'the key is kept nowhere the page can read');

    // A request created through the API appears without a reload. (How fast is the dashboard
    // bench's to measure, bench/dashboard.ts: on a loaded machine, or while any transaction of
    // the server holds back the log's horizon, a bound here would only measure the machine.)
    const asked = Date.now();
    const created = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'send_email', params: { to: 'bob@example.com' }, urgency: 'high' } });
    const first = created.json().id as string;
    await page.locator(`li[data-id="${first}"]`).waitFor({ timeout: 5000 });
    t.pass(`appeared without a reload, ${Date.now() - asked} ms after creation`);

    // More arrive: ordered by urgency then age.
    const low = (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'tidy_logs', urgency: 'low' } })).json().id as string;
    const critical = (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'rotate_db_password', urgency: 'critical', expiresAt: new Date(Date.now() + 3_600_000).toISOString() } })).json().id as string;
    await page.locator(`li[data-id="${low}"]`).waitFor();
    await page.locator(`li[data-id="${critical}"]`).waitFor();
    t.same(await page.locator('ol.queue > li').evaluateAll((els) => els.map((e) => e.getAttribute('data-id'))), [critical, first, low]);
    t.match(await page.locator(`li[data-id="${critical}"]`).innerText(), /expires in 59 min|expires in 1 h/, 'a countdown to expiry');
    await screenshot(page, 'queue-desktop-light');

    // Another tab (another browser context: its own session) watches the same queue.
    const other = await newPage(browser);
    await signIn(other.page, base, reviewer.key);
    await other.page.locator(`li[data-id="${low}"]`).waitFor();

    // Keyboard: k/j move, a asks for a reason, Enter decides.
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('k');
    await page.keyboard.press('k');
    t.equal(await page.locator('li.row.selected').getAttribute('data-id'), critical);
    await page.keyboard.press('j');
    t.equal(await page.locator('li.row.selected').getAttribute('data-id'), first);
    // The answer to the decision is held back until the stream's echo of it has reached the
    // tabs: the echo must not announce this tab's own decision a second time.
    await page.route('**/api/requests/*/decide', async (route) => {
      const response = await route.fetch();
      await other.page.locator(`li[data-id="${first}"]`).waitFor({ state: 'detached', timeout: 10_000 });
      await page.waitForTimeout(300);
      await route.fulfill({ response });
    });
    await page.keyboard.press('a');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    t.equal(await page.evaluate(() => document.activeElement?.id), 'decision-reason', 'focus moves into the dialog');
    await page.keyboard.type('recipient is a customer');
    await page.keyboard.press('Enter');
    await page.locator(`li[data-id="${first}"]`).waitFor({ state: 'detached' });
    const approved = (await h.call('GET', `/api/requests/${first}`)).json();
    t.match(approved, { status: 'approved', decisionReason: 'recipient is a customer', decidedBy: 'alice' });
    // The other tab hears of it from the stream, with who decided.
    await other.page.locator(`li[data-id="${first}"]`).waitFor({ state: 'detached', timeout: 5000 });
    t.match(await other.page.locator('[data-testid="departed"]').first().innerText(), /approved by alice/);
    await page.locator('.notice').filter({ hasText: first }).first().waitFor();
    t.equal(await page.locator('.notice').filter({ hasText: first }).count(), 1, 'this tab\'s own decision is announced once');
    t.equal(await page.locator('[data-testid="departed"]').count(), 0, 'and not listed as decided elsewhere');
    await page.unroute('**/api/requests/*/decide');

    // Decided through the API: leaves both tabs within a second.
    const before = Date.now();
    await h.call('POST', `/api/requests/${low}/decide`, { body: { decision: 'denied', reason: 'not now' } });
    await Promise.all([page, other.page].map((p) => p.locator(`li[data-id="${low}"]`).waitFor({ state: 'detached', timeout: 5000 })));
    const goneAfter = Date.now() - before;
    t.ok(goneAfter < 1000, `left both queues ${goneAfter} ms after the decision`);
    t.match(await other.page.locator('[data-testid="departed"]').first().innerText(), /denied by \S+.*not now/);

    // Enter opens the detail page.
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/requests/${critical}`);
    await page.getByRole('heading', { name: 'rotate_db_password' }).waitFor();
    await page.getByText('Timeline').waitFor();
    await page.locator('.tl').first().waitFor();
    await screenshot(page, 'detail-desktop-light');
    t.same(pageErrors, [], 'no script errors');
    t.same(foreign, [], 'no request left the server\'s own origin');
  });

  t.test('four-eyes: the server\'s refusal is shown in words', async (t) => {
    const h = await testApp(t);
    const base = await listenOn(h.app);
    const browser = await launchChromium(t);
    const both = await h.key(['request:create', 'request:read', 'request:decide'], { name: 'self-reviewer' });
    const id = (await h.call('POST', '/api/requests', { key: both.key, body: { action: 'pay_invoice', params: { amount: 120 } } })).json().id as string;
    const { page } = await newPage(browser);
    await signIn(page, base, both.key);
    await page.locator(`li[data-id="${id}"]`).waitFor();
    await page.getByRole('button', { name: `Approve pay_invoice ${id}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
    // Tab stays inside the dialog.
    for (let i = 0; i < 4; i++) await page.keyboard.press('Tab');
    t.ok(await page.evaluate(() => !!document.activeElement?.closest('[role="dialog"]')), 'focus is trapped in the dialog');
    const alert = page.getByRole('dialog').getByRole('alert');
    await alert.waitFor();
    t.match(await alert.innerText(), /Four-eyes rule: .*cannot be decided by the key that created it/);
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    t.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), `Approve pay_invoice ${id}`, 'focus returns to the button that opened the dialog');
    t.equal((await h.call('GET', `/api/requests/${id}`)).json().status, 'pending');

    // A second tab of the same browser shares the session: signing out in one ends the
    // other's live stream at once, and that tab shows the sign-in form.
    const second = await page.context().newPage();
    await second.goto(page.url());
    await second.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    await second.getByLabel('API key').waitFor({ timeout: 5000 });
  });

  t.test('what a key may not do is not offered', async (t) => {
    const h = await testApp(t);
    const base = await listenOn(h.app);
    const browser = await launchChromium(t);
    const readOnly = await h.key(['request:read'], { name: 'auditor' });
    const id = (await h.call('POST', '/api/requests', { body: { action: 'deploy' } })).json().id as string;
    const { page } = await newPage(browser);
    await signIn(page, base, readOnly.key);
    await page.locator(`li[data-id="${id}"]`).waitFor();
    t.equal(await page.getByRole('button', { name: /Approve/ }).count(), 0, 'no approve button without request:decide');
    await page.keyboard.press('a');
    t.equal(await page.getByRole('dialog').count(), 0, 'the shortcut does nothing either');
    t.equal(await page.getByRole('link', { name: 'API keys' }).count(), 0, 'no Keys page without key:manage');
  });
}
