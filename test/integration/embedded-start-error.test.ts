/**
 * When the embedded PostgreSQL cannot start, `npm start` says so in one sentence with the
 * fix, without a stack trace. Reproduced as root with DATA_DIR inside a 0700 folder outside
 * the project (the "postgres" user the database runs as cannot enter it).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { ROOT_DIR } from '../../server/src/db/paths.ts';
import { freePort } from '../helpers/process.ts';

t.test('a closed folder on the way to DATA_DIR: one sentence naming the folder and DATABASE_URL', { skip: process.getuid?.() !== 0 && 'only root runs the embedded database as another user' }, async (t) => {
  const closed = mkdtempSync(path.join(tmpdir(), 'agentgate-closed-'));
  t.teardown(() => rmSync(closed, { recursive: true, force: true }));
  t.equal(statSync(closed).mode & 0o777, 0o700, 'mkdtemp makes a 0700 folder');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: closed, DATA_DIR: path.join(closed, 'data'), PORT: String(await freePort()), EMBEDDED_PG_PORT: String(await freePort()), LOG_LEVEL: 'silent' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], { cwd: ROOT_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(code, 1, stdout);
  const lines = stderr.trim().split('\n');
  t.equal(lines.length, 1, `one line: ${stderr}`);
  t.match(lines[0], new RegExp(`cannot enter ${closed}: set DATABASE_URL`));
  t.match(lines[0], /chmod o\+x/);
  t.notMatch(stderr, /^\s+at /m, 'no stack trace');
  t.equal(lines[0]!.split(/\.\s/).length, 1, 'one sentence');
});
