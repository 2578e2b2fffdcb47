import t from 'tap';
import type { WebSocketRoute } from 'playwright-core';
import { testApp } from '../helpers/app.ts';
import { listenOn } from '../helpers/live.ts';
import { createWebhook, receiverFor } from '../helpers/webhook-receiver.ts';
import { inProcessWorker } from '../helpers/worker.ts';
import { chromiumMissing, ensureDashboardBuilt, launchChromium, newPage, screenshot, signIn } from '../helpers/browser.ts';

const missing = chromiumMissing();
if (missing) {
  // Reported by tap as a skipped file, with the message saying how to install Chromium.
  t.plan(0, missing);
} else {
  ensureDashboardBuilt();

  t.test('request detail: webhook deliveries join the timeline live, with their status', async (t) => {
    const h = await testApp(t);
    const base = await listenOn(h.app);
    const receiver = await receiverFor(t);
    // The first attempt is refused; the retry goes through.
    receiver.respond = (call) => (call === 1 ? 500 : 204);
    const hook = await createWebhook(h, { url: receiver.url, events: ['request.decided'] });
    await inProcessWorker(t, h.sql, h.dbUrl);
    const browser = await launchChromium(t);
    const agent = await h.key(['request:create', 'request:read'], { name: 'deploy-agent' });
    const id = (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy', params: { service: 'api' } } })).json().id as string;

    const { page } = await newPage(browser);
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await signIn(page, base, h.adminKey);
    await page.goto(`${base}/requests/${id}`);
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await page.locator('.tl').first().waitFor();
    const attempts = page.locator('.tl-webhook-delivery_attempted');
    t.equal(await attempts.count(), 0, 'nothing delivered before the decision');

    await h.call('POST', `/api/requests/${id}/decide`, { body: { decision: 'approved', reason: 'release window' } });
    await page.locator('.tl-request-approved').waitFor({ timeout: 5000 });
    t.match(await page.locator('.tl-request-approved').innerText(), /by bootstrap admin: “release window”/, 'the decision, its reason after a colon');
    await attempts.nth(1).waitFor({ timeout: 20_000 });
    const [first, second] = await attempts.allInnerTexts();
    t.match(first, /retrying[\s\S]*request\.decided to .*attempt 1: HTTP 500; next attempt/i, 'the refused attempt, and that it will be retried');
    t.match(second, /delivered[\s\S]*request\.decided to .*attempt 2: HTTP 204/i, 'then the delivery that went through');
    t.match(second, new RegExp(hook.id), 'names the webhook');
    await screenshot(page, 'detail-deliveries-desktop-light');

    // The same on a fresh load, from the request's trail.
    await page.reload();
    await page.locator('.tl-webhook-delivery_attempted').nth(1).waitFor();
    t.same((await page.locator('.tl-webhook-delivery_attempted .badge').allTextContents()), ['retrying', 'delivered']);

    // Deliveries quote the receiver's answers: a key that may not read webhooks does not see them.
    const reader = await h.key(['request:read'], { name: 'reader' });
    const other = await newPage(browser);
    await signIn(other.page, base, reader.key);
    await other.page.goto(`${base}/requests/${id}`);
    await other.page.locator('.tl-request-approved').waitFor();
    t.equal(await other.page.locator('.tl-webhook-delivery_attempted').count(), 0);
    t.same(pageErrors, [], 'no script errors');
  });

  t.test('reconnect: a dropped stream resumes from its last position and the page misses nothing', async (t) => {
    const h = await testApp(t);
    const base = await listenOn(h.app);
    const browser = await launchChromium(t);
    const agent = await h.key(['request:create', 'request:read'], { name: 'mailer-agent' });
    const create = async (action: string, urgency = 'normal') =>
      (await h.call('POST', '/api/requests', { key: agent.key, body: { action, urgency } })).json().id as string;
    const early = await create('send_invoice');

    const { page } = await newPage(browser);
    // The page's WebSocket goes through this gate: while it is down the connection drops
    // and every attempt to reconnect fails, as when the server or the network is away.
    let down = false;
    const open: WebSocketRoute[] = [];
    await page.routeWebSocket(/\/api\/stream/, (ws) => {
      if (down) {
        void ws.close({ code: 1012, reason: 'unreachable' });
        return;
      }
      ws.connectToServer();
      open.push(ws);
    });
    const states: string[] = [];
    await page.exposeFunction('recordConnection', (s: string) => { states.push(s); });
    await signIn(page, base, h.adminKey);
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await page.locator(`li[data-id="${early}"]`).waitFor();
    // Every state the indicator shows, in order.
    await page.evaluate(() => {
      const el = document.querySelector('.conn')!;
      new MutationObserver(() => (window as unknown as { recordConnection(s: string): void }).recordConnection(el.textContent ?? '')).observe(el, { childList: true, subtree: true, characterData: true });
    });

    down = true;
    for (const ws of open.splice(0)) await ws.close({ code: 1012, reason: 'dropped' });
    await page.getByRole('status').filter({ hasText: 'Reconnecting' }).waitFor({ timeout: 5000 });

    // While the page is cut off: two requests arrive and the first one is decided.
    const later = await create('rotate_keys', 'critical');
    const last = await create('tidy_logs', 'low');
    await h.call('POST', `/api/requests/${early}/decide`, { body: { decision: 'denied', reason: 'duplicate invoice' } });
    await page.waitForTimeout(1000);
    t.equal(await page.locator(`li[data-id="${later}"]`).count(), 0, 'nothing arrives while disconnected');
    await screenshot(page, 'queue-reconnecting-desktop-light');

    down = false;
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor({ timeout: 20_000 });
    await page.locator(`li[data-id="${early}"]`).waitFor({ state: 'detached', timeout: 5000 });
    t.same(await page.locator('ol.queue > li').evaluateAll((els) => els.map((e) => e.getAttribute('data-id'))), [later, last], 'both requests made meanwhile are there, in order');
    t.match(await page.locator('[data-testid="departed"]').first().innerText(), /denied by \S+.*duplicate invoice/, 'and the decision made meanwhile');
    t.equal(await page.getByTestId('pending-count').innerText(), '2');
    t.ok(states.indexOf('Reconnecting…') >= 0 && states.lastIndexOf('Live') > states.indexOf('Reconnecting…'), `the indicator went reconnecting → live (${states.join(' → ')})`);
  });
}

