/**
 * `npm test`: runs every test file with tap against DATABASE_URL when it is set, otherwise
 * against an embedded PostgreSQL started for this run (each test file then creates its
 * own database on that server, so files run in parallel). Extra arguments go to tap.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres } from '../server/src/db/embedded.ts';
import { ROOT_DIR } from '../server/src/db/paths.ts';
import { freePort } from './helpers/process.ts';

let stopEmbedded: (() => Promise<void>) | null = null;
let tempDir: string | null = null;
const env = { ...process.env };

if (!env.DATABASE_URL) {
  const base = path.join(ROOT_DIR, 'data');
  mkdirSync(base, { recursive: true });
  tempDir = mkdtempSync(path.join(base, 'test-postgres-'));
  const port = await freePort();
  console.log(`# DATABASE_URL is not set: using an embedded PostgreSQL on port ${port}`);
  const pg = await startEmbeddedPostgres({ dataDir: tempDir, port });
  stopEmbedded = pg.stop;
  env.DATABASE_URL = pg.url;
}

const tapBin = path.join(ROOT_DIR, 'node_modules', '.bin', 'tap');
const child = spawn(tapBin, process.argv.slice(2), { stdio: 'inherit', env, cwd: ROOT_DIR });
const code: number = await new Promise((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))));

if (stopEmbedded) await stopEmbedded().catch(() => {});
if (tempDir) rmSync(tempDir, { recursive: true, force: true });
process.exit(code);
