/**
 * Real headless Chromium (Debian's package, driven by playwright-core) against a real
 * server on a real database. Without Chromium the browser tests skip, saying how to get it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT_DIR } from '../../server/src/db/paths.ts';
import { DASHBOARD_DIST } from '../../server/src/http/dashboard.ts';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(ROOT_DIR, 'test', 'artifacts');

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  return `Chromium not found at ${CHROMIUM_PATH}: install it with "apt-get install -y chromium" (or set CHROMIUM_PATH) to run the browser tests`;
}

/** The dashboard as `npm install` builds it; built here when a checkout has not been. */
export function ensureDashboardBuilt(): void {
  if (existsSync(path.join(DASHBOARD_DIST, 'index.html'))) return;
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT_DIR, stdio: 'inherit' });
}

export async function launchChromium(t: Test): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--disable-dev-shm-usage'] });
  t.teardown(() => browser.close());
  return browser;
}

export async function newPage(browser: Browser, opts: { dark?: boolean; phone?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    colorScheme: opts.dark ? 'dark' : 'light',
    viewport: opts.phone ? { width: 390, height: 844 } : { width: 1280, height: 800 },
    deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  return { context, page };
}

/** Saves a screenshot under test/artifacts/ (kept by CI, ignored by git). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

export async function signIn(page: Page, base: string, key: string): Promise<void> {
  await page.goto(base);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}
