/**
 * The dashboard's queue page in real Chromium, measured with the Performance API:
 * with N pending requests (10,000) it is opened cold (first render: navigation start to
 * the first page of the queue on screen), then requests arrive at a steady rate (50 events
 * a second: each creation is two events, created and policy evaluated) and every live
 * update's cost in the page (fold + render, measured by the page itself as `queue-update`)
 * and the delay from the API's answer to the row on screen are recorded.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { connect } from '../server/src/db/connect.ts';
import { buildApp } from '../server/src/http/app.ts';
import { bootstrapAdminKey } from '../server/src/keys/commands.ts';
import { DASHBOARD_DIST } from '../server/src/http/dashboard.ts';
import { CHROMIUM_PATH, chromiumMissing } from '../test/helpers/browser.ts';
import { round, summarize, table } from './stats.ts';

export async function run(opts: { databaseUrl: string; quick?: boolean }): Promise<Record<string, number | string>> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  if (!existsSync(path.join(DASHBOARD_DIST, 'index.html'))) throw new Error('the dashboard is not built: npm run build');
  const pending = opts.quick ? 1_000 : 10_000;
  const seconds = opts.quick ? 4 : 10;
  const eventsPerSecond = 50;

  const sql = connect(opts.databaseUrl, { max: 10 });
  const app = await buildApp({ sql, logLevel: 'warn' });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const key = (await bootstrapAdminKey(sql)).key!;
  const post = (body: object) => fetch(`${base}/api/requests`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  }).then(async (r) => {
    if (r.status !== 201) throw new Error(`create answered ${r.status}: ${await r.text()}`);
    return (await r.json()) as { id: string };
  });

  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--disable-dev-shm-usage'] });
  try {
    process.stdout.write(`dashboard: seeding ${pending} pending requests… `);
    const seedStart = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < pending) {
        const i = next++;
        await post({ action: `seed_${i % 50}`, params: { i }, urgency: i % 10 === 0 ? 'high' : 'normal' });
      }
    }));
    console.log(`${((performance.now() - seedStart) / 1000).toFixed(1)} s`);

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    // Sign in once; the measured load is a fresh navigation with the session cookie.
    await page.goto(base);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('ol.queue li').first().waitFor({ timeout: 60_000 });

    const firstRender: number[] = [];
    for (let i = 0; i < (opts.quick ? 2 : 5); i++) {
      await page.goto(base);
      await page.locator('ol.queue li').first().waitFor({ timeout: 60_000 });
      firstRender.push(await page.evaluate(() => performance.getEntriesByName('queue-rendered')[0]?.startTime ?? NaN));
    }
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();

    // Rows as they appear, stamped in the page's clock (shared origin with the Node side below).
    await page.evaluate(() => {
      const seen: Record<string, number> = {};
      (window as unknown as { __seen: Record<string, number> }).__seen = seen;
      new MutationObserver((records) => {
        const now = performance.timeOrigin + performance.now();
        for (const r of records) for (const n of Array.from(r.addedNodes)) {
          const id = (n as HTMLElement).dataset?.id;
          if (id && !(id in seen)) seen[id] = now;
        }
      }).observe(document.querySelector('ol.queue')!, { childList: true });
      performance.clearMeasures('queue-update');
    });

    // 50 events a second = 25 creations a second (created + policy_evaluated each).
    const answeredAt = new Map<string, number>();
    const creations = (eventsPerSecond / 2) * seconds;
    const interval = 1000 / (eventsPerSecond / 2);
    const t0 = Date.now();
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < creations; i++) {
      const due = t0 + i * interval;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inflight.push(post({ action: `live_${i}`, urgency: 'critical' }).then(({ id }) => { answeredAt.set(id, performance.timeOrigin + performance.now()); }));
    }
    await Promise.all(inflight);
    await page.waitForFunction((n) => Object.keys((window as unknown as { __seen: object }).__seen).length >= n, creations, { timeout: 30_000 });

    const { updates, seen } = await page.evaluate(() => ({
      updates: performance.getEntriesByName('queue-update').map((m) => m.duration),
      seen: (window as unknown as { __seen: Record<string, number> }).__seen,
    }));
    const delays = [...answeredAt].map(([id, at]) => (seen[id] ?? NaN) - at).filter(Number.isFinite);
    const fr = summarize(Float64Array.from(firstRender));
    const up = summarize(Float64Array.from(updates));
    const delay = summarize(Float64Array.from(delays));
    const pendingShown = await page.getByTestId('pending-count').innerText();

    console.log(table(['measure', 'count', 'p50 ms', 'p95 ms', 'max ms'], [
      [`first render, ${pending} pending`, fr.count, round(fr.p50), round(fr.p95), round(fr.max)],
      ['live update (fold + render)', up.count, round(up.p50, 3), round(up.p95, 3), round(up.max, 3)],
      ['API answer → row on screen', delay.count, round(delay.p50), round(delay.p95), round(delay.max)],
    ]));
    console.log(`pending shown at the end: ${pendingShown} (expected ${pending + creations})`);
    return {
      pending, eventsPerSecond, seconds,
      firstRenderP50Ms: round(fr.p50), firstRenderMaxMs: round(fr.max),
      updates: up.count, updateP50Ms: round(up.p50, 3), updateP95Ms: round(up.p95, 3), updateMaxMs: round(up.max, 3),
      apiToScreenP50Ms: round(delay.p50), apiToScreenP95Ms: round(delay.p95),
      pendingShown,
    };
  } finally {
    await browser.close();
    await app.close();
    await sql.end({ timeout: 1 });
  }
}
