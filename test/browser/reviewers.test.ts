/**
 * The Reviewers and Channels pages in Chromium, signed in with a key that holds only
 * reviewer:manage: the directory is managed through its forms (the server's validation
 * errors at their fields), changes made through the API appear live, and a test message
 * goes through a local Slack stand-in, its outcome shown when the worker records it.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import t from 'tap';
import type { Page } from 'playwright-core';
import { channelSettings, type Channels } from '../../server/src/channels/registry.ts';
import { slackChannel } from '../../server/src/channels/slack.ts';
import { testApp } from '../helpers/app.ts';
import { fakeSlack } from '../helpers/fake-slack.ts';
import { listenOn } from '../helpers/live.ts';
import { inProcessWorker } from '../helpers/worker.ts';
import { chromiumMissing, ensureDashboardBuilt, launchChromium, newPage, screenshot, signIn } from '../helpers/browser.ts';

type Violations = string[];

async function axeViolations(page: Page, source: string): Promise<Violations> {
  return page.evaluate(async (src) => {
    if (!(window as unknown as { axe?: unknown }).axe) (0, eval)(src);
    const axe = (window as unknown as { axe: { run(ctx: Document, o: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[]; failureSummary: string }[] }[] }> } }).axe;
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')} — ${n.failureSummary.replace(/\s+/g, ' ')}`).join('; ')}`);
  }, source);
}

const missing = chromiumMissing();
if (missing) {
  // Reported by tap as a skipped file, with the message saying how to install Chromium.
  t.plan(0, missing);
} else {
  ensureDashboardBuilt();

  t.test('reviewers and channels pages in Chromium', async (t) => {
    const slack = await fakeSlack(t);
    const channels: Channels = {
      adapters: { slack: slackChannel({ botToken: 'xoxb-test', apiUrl: slack.apiUrl, defaultChannel: '#approvals', timeoutMs: 5000 }) },
      defaults: { slack: '#approvals', email: [] }, baseUrl: 'https://gate.example.com',
    };
    const h = await testApp(t, { channels: channelSettings(channels) });
    await inProcessWorker(t, h.sql, h.dbUrl, { channels });
    const base = await listenOn(h.app);
    const browser = await launchChromium(t);
    // Only the directory's scope: the pages, and their live updates, must work with it alone.
    const manager = await h.key(['reviewer:manage'], { name: 'directory-admin' });
    // The key Ana decides with from the CLI; this session cannot list keys, so it is shown by id.
    const anaKey = await h.key(['request:read', 'request:decide'], { name: 'ana-cli' });
    const reviewers = async () => (await h.call('GET', '/api/reviewers')).json().reviewers as Array<Record<string, unknown>>;

    t.test('the directory: create with a validation error, edit, disable, live changes, delete', async (t) => {
      const { page } = await newPage(browser);
      const pageErrors: string[] = [];
      page.on('pageerror', (e) => pageErrors.push(e.message));
      await signIn(page, base, manager.key);
      const nav = page.getByRole('navigation', { name: 'Main' });
      t.equal(await nav.getByRole('link', { name: 'Policies' }).count(), 0, 'pages outside the scope are not offered');
      await nav.getByRole('link', { name: 'Reviewers' }).click();
      await page.getByText('No reviewers yet').waitFor();

      // An invalid Slack id: the server's words at that field, nothing saved.
      const form = page.getByRole('form', { name: 'New reviewer' });
      await form.getByLabel('Name').fill('Ana Lima');
      await form.getByLabel('Email').fill('Ana@Example.com');
      await form.getByLabel('Slack member id').fill('ana');
      await form.getByRole('button', { name: 'Add reviewer' }).click();
      const slackError = form.locator('#new-slackUserId-err');
      await slackError.waitFor();
      t.match(await slackError.innerText(), /must match pattern/);
      t.equal(await form.getByLabel('Slack member id').getAttribute('aria-invalid'), 'true');
      t.match(await form.getByLabel('Slack member id').getAttribute('aria-describedby'), /new-slackUserId-err/, 'the error is read with the field');
      t.equal((await reviewers()).length, 0, 'nothing saved');

      await form.getByLabel('Slack member id').fill('U024BE7LH');
      await form.getByLabel('Groups').fill('finance, on-call');
      await form.getByLabel('Preferred channel').selectOption('slack');
      await form.getByRole('button', { name: 'Add reviewer' }).click();
      const ana = page.locator('tbody tr').filter({ hasText: 'Ana Lima' });
      await ana.waitFor();
      t.match(await ana.innerText(), /ana@example\.com[\s\S]*U024BE7LH[\s\S]*finance, on-call[\s\S]*Slack/);
      t.equal(await form.getByLabel('Name').inputValue(), '', 'the form is empty again');
      t.equal(await form.locator('[aria-invalid="true"]').count(), 0, 'and its errors are gone');
      const anaId = (await reviewers())[0]!.id as string;
      t.match((await reviewers())[0], { name: 'Ana Lima', email: 'ana@example.com', slackUserId: 'U024BE7LH', groups: ['finance', 'on-call'], preferredChannel: 'slack' });

      // The same email for a second person: a coded refusal, at the email field.
      await form.getByLabel('Name').fill('Ana Again');
      await form.getByLabel('Email').fill('ana@example.com');
      await form.getByRole('button', { name: 'Add reviewer' }).click();
      await form.locator('#new-email-err').waitFor();
      t.match(await form.locator('#new-email-err').innerText(), new RegExp(`already belongs to ${anaId}`));
      t.equal((await reviewers()).length, 1);
      await form.getByLabel('Name').fill('');
      await form.getByLabel('Email').fill('');

      // Edit: preferring Discord needs a Discord id; the refusal lands in the dialog, at the field.
      await page.getByRole('button', { name: 'Edit Ana Lima' }).click();
      const dialog = page.getByRole('dialog', { name: 'Edit Ana Lima' });
      await dialog.waitFor();
      t.equal(await dialog.getByLabel('Slack member id').inputValue(), 'U024BE7LH', 'the form holds the reviewer as saved');
      await dialog.getByLabel('Preferred channel').selectOption('discord');
      await dialog.getByRole('button', { name: 'Save' }).click();
      const preferredError = dialog.locator('#edit-preferredChannel-err');
      await preferredError.waitFor();
      t.match(await preferredError.innerText(), /needs discordUserId/);
      t.equal(await form.locator('.field-error').count(), 0, 'the new-reviewer form does not show the dialog\'s errors');
      await dialog.getByLabel('Discord user id').fill('80351110224678912');
      await dialog.getByLabel('Linked API key').fill(anaKey.id);
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.waitFor({ state: 'detached' });
      await ana.filter({ hasText: '80351110224678912' }).waitFor();
      t.match(await ana.innerText(), new RegExp(`Discord[\\s\\S]*${anaKey.id}`), 'the linked key is shown');
      t.match((await h.call('GET', `/api/reviewers/${anaId}`)).json(), { discordUserId: '80351110224678912', preferredChannel: 'discord', keyId: anaKey.id });

      await page.getByRole('button', { name: 'Disable Ana Lima' }).click();
      await page.getByRole('button', { name: 'Enable Ana Lima' }).waitFor();
      t.match(await ana.innerText(), /disabled/i);
      t.equal((await h.call('GET', `/api/reviewers/${anaId}`)).json().disabled, true, 'disabled on the server');

      // Made through the API (as the CLI or another tab would): shown here without a reload.
      const bo = (await h.call('POST', '/api/reviewers', { body: { name: 'Bo Chen', email: 'bo@example.com', groups: ['finance'] } })).json().id as string;
      const boRow = page.locator('tbody tr').filter({ hasText: 'Bo Chen' });
      await boRow.waitFor({ timeout: 5000 });
      await h.call('PATCH', `/api/reviewers/${anaId}`, { body: { disabled: false, groups: ['finance', 'on-call', 'leads'] } });
      await ana.filter({ hasText: 'leads' }).waitFor({ timeout: 5000 });
      await page.getByRole('button', { name: 'Disable Ana Lima' }).waitFor();
      await screenshot(page, 'reviewers-desktop-light');

      // Delete asks first; keeping changes nothing and gives focus back.
      await page.getByRole('button', { name: 'Delete Bo Chen' }).click();
      const confirm = page.getByRole('dialog', { name: 'Delete Bo Chen?' });
      await confirm.getByRole('button', { name: 'Keep it' }).click();
      await confirm.waitFor({ state: 'detached' });
      t.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Delete Bo Chen', 'focus goes back');
      t.equal((await h.call('GET', `/api/reviewers/${bo}`)).statusCode, 200, 'kept');
      await page.getByRole('button', { name: 'Delete Bo Chen' }).click();
      await confirm.getByRole('button', { name: 'Delete' }).click();
      await boRow.waitFor({ state: 'detached' });
      t.equal((await h.call('GET', `/api/reviewers/${bo}`)).statusCode, 404, 'deleted on the server');
      t.same(pageErrors, [], 'no script errors');
    });

    t.test('channels: each on or off with why; a test message\'s outcome lands live', async (t) => {
      const { page } = await newPage(browser);
      await signIn(page, base, manager.key);
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Channels' }).click();
      const card = (type: string) => page.locator(`li[data-channel="${type}"]`);
      await card('slack').waitFor();
      t.match(await card('slack').innerText(), /Slack\s+on[\s\S]*#approvals[\s\S]*Last test\s+none yet/i);
      t.match(await card('discord').innerText(), /Discord\s+off[\s\S]*Why off\s+not configured/i);
      t.match(await card('email').innerText(), /Email\s+off/i);
      t.equal(await card('discord').getByRole('button').count(), 0, 'no test for a channel that is off');

      // Slack holds the post: the test shows as waiting, then as sent once the worker records it.
      const release = slack.holdPosts();
      await page.getByRole('button', { name: 'Send test through Slack' }).click();
      const lastTest = page.getByTestId('last-test-slack');
      await lastTest.filter({ hasText: 'queued' }).waitFor();
      t.match(await lastTest.innerText(), /waiting for the worker/);
      release();
      await lastTest.filter({ hasText: 'sent' }).waitFor({ timeout: 10_000 });
      t.match(await lastTest.innerText(), /sent\s+to #approvals/i);
      t.equal(slack.posted().length, 1, 'one test message reached Slack');
      t.equal(slack.posted()[0]!.args.channel, '#approvals');
      t.equal(await card('slack').getByRole('status').innerText(), 'Slack test sent', 'announced to screen readers');
      t.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Send test through Slack', 'focus stays on the button');
      await screenshot(page, 'channels-desktop-light');
    });

    t.test('phone width, dark theme', async (t) => {
      const { page } = await newPage(browser, { dark: true, phone: true });
      await signIn(page, base, manager.key);
      for (const [path, name, ready] of [['/reviewers', 'reviewers-phone-dark', 'tbody tr'], ['/channels', 'channels-phone-dark', 'li[data-channel]']] as const) {
        await page.goto(`${base}${path}`);
        await page.locator(ready).first().waitFor();
        const width = await page.evaluate(() => document.documentElement.scrollWidth);
        t.ok(width <= 390, `${path}: no sideways scrolling on a phone (${width}px)`);
        await screenshot(page, name);
      }
    });

    t.test('accessibility: axe finds no WCAG 2.2 A/AA violation, light or dark, with the edit dialog open too', async (t) => {
      // Evaluated through the browser's protocol, so the page's Content-Security-Policy stays as it is.
      const axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
      for (const dark of [false, true]) {
        const { page } = await newPage(browser, { dark });
        await signIn(page, base, manager.key);
        for (const path of ['/reviewers', '/channels']) {
          await page.goto(`${base}${path}`);
          await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
          await page.waitForFunction(() => !document.querySelector('.skeleton'));
          t.same(await axeViolations(page, axeSource), [], `${path} (${dark ? 'dark' : 'light'})`);
        }
        await page.goto(`${base}/reviewers`);
        await page.getByRole('button', { name: 'Edit Ana Lima' }).click();
        await page.getByRole('dialog').waitFor();
        t.same(await axeViolations(page, axeSource), [], `/reviewers, editing (${dark ? 'dark' : 'light'})`);
      }
    });
  });
}
