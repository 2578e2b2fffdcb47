/**
 * The dashboard's "email me a link" in Chromium: the mail arrives at a real SMTP server,
 * the link opens the sign-in page, one click signs the reviewer in, and the link is spent.
 */
import t from 'tap';
import { emailChannel } from '../../server/src/channels/email.ts';
import { channelSettings, type Channels } from '../../server/src/channels/registry.ts';
import { testApp } from '../helpers/app.ts';
import { chromiumMissing, ensureDashboardBuilt, launchChromium, newPage, screenshot } from '../helpers/browser.ts';
import { listenOn } from '../helpers/live.ts';
import { smtpServer } from '../helpers/smtp.ts';
import { eventually, inProcessWorker } from '../helpers/worker.ts';

const missing = chromiumMissing();
if (missing) {
  t.plan(0, missing);
} else {
  ensureDashboardBuilt();

  t.test('a reviewer signs in with an emailed link, once', async (t) => {
    const mailbox = await smtpServer(t);
    const email = emailChannel({ url: mailbox.url, from: 'AgentGate <gate@example.com>', defaultTo: [], timeoutMs: 5000 });
    const h0 = await testApp(t, { channels: channelSettings({ adapters: { email }, defaults: { email: [] }, baseUrl: '' }) });
    const base = await listenOn(h0.app);
    const channels: Channels = { adapters: { email }, defaults: { email: [] }, baseUrl: base };
    await inProcessWorker(t, h0.sql, h0.dbUrl, { channels });
    await h0.call('POST', '/api/reviewers', { body: { name: 'Alice Reviewer', email: 'alice@example.com' } });
    const browser = await launchChromium(t);

    const { page } = await newPage(browser);
    await page.goto(base);
    await page.getByLabel('Your email').fill('alice@example.com');
    await page.getByRole('button', { name: 'Email me a link' }).click();
    await page.getByText('If the address belongs to a reviewer').waitFor();
    await screenshot(page, 'sign-in-email-link-desktop-light');

    const mail = await eventually(async () => mailbox.to('alice@example.com')[0], 'the sign-in mail');
    const url = /(http:\/\/\S+\/sign-in#token=[\w-]+)/.exec(mail.text ?? '')?.[1];
    t.ok(url, 'the mail holds the link');

    await page.goto(url!);
    t.equal((await h0.sql`select count(*)::int as n from dashboard_sessions`)[0]!.n, 0, 'opening the link signs no one in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    t.match(await page.locator('body').innerText(), /Alice Reviewer/, 'signed in as the reviewer');
    t.notMatch(page.url(), /token=/, 'the token is gone from the address bar');

    const { page: other } = await newPage(browser);
    await other.goto(url!);
    await other.getByRole('button', { name: 'Sign in' }).click();
    await other.getByText('no longer works').waitFor();
    t.pass('a second use of the link is refused');
  });
}
