/**
 * Decision links never come from a request's Host header: without PUBLIC_URL they point at
 * the listen address, and outside development the server says so at start (issue 8, item 8).
 */
import t from 'tap';
import { serverDatabaseEnv, testDatabase } from '../helpers/db.ts';
import { startServerProcess } from '../helpers/process.ts';
import { eventually } from '../helpers/worker.ts';

const WARNING = /PUBLIC_URL is not set: decision links will point at http:\/\/127\.0\.0\.1:(\d+), which reviewers elsewhere may not reach/;

t.test('an unset PUBLIC_URL is warned about at start, outside development only', async (t) => {
  const db = await testDatabase(t);
  // Four servers starting together on a fresh database take turns to migrate: generous on a loaded machine.
  const start = (env: Record<string, string | undefined>) =>
    startServerProcess({ ...serverDatabaseEnv(db.url), LOG_LEVEL: 'warn', WORKER_ENABLED: 'false', ...env }, 180_000);
  const servers = await Promise.all([
    start({ NODE_ENV: 'production', PUBLIC_URL: undefined }),
    start({ NODE_ENV: undefined, PUBLIC_URL: undefined }),
    start({ NODE_ENV: 'development', PUBLIC_URL: undefined }),
    start({ NODE_ENV: 'production', PUBLIC_URL: 'https://gate.example.com' }),
  ]);
  t.teardown(() => { for (const s of servers) s.child.kill('SIGKILL'); });
  // The warning comes before the banner, on the same stream: once the banner is out, it is too.
  for (const s of servers) await eventually(async () => s.output().includes('AgentGate is listening on'), 'the start banner');
  const [production, unset, development, configured] = servers.map((s) => s.output());

  const port = new URL(servers[0]!.base).port;
  t.equal(WARNING.exec(production!)?.[1], port, 'production: warned, naming the listen address the links use');
  t.match(unset, WARNING, 'NODE_ENV unset counts as production');
  t.notMatch(development, /PUBLIC_URL is not set/, 'development: no warning');
  t.notMatch(configured, /PUBLIC_URL is not set/, 'PUBLIC_URL set: no warning');
  t.match(configured, /AgentGate is listening on https:\/\/gate\.example\.com/, 'and the banner shows PUBLIC_URL');
});
