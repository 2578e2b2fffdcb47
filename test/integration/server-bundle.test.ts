/**
 * The production image runs the bundled server (`npm run build:server` → server/dist/bin/)
 * with plain node: it must find its migrations and projections, serve /ready and /metrics,
 * and stop cleanly on SIGTERM (node is PID 1 in the image). The worker bundle serves its
 * metrics on METRICS_PORT.
 */
import t from 'tap';
import { buildServer } from '../../server/build.ts';
import { serverDatabaseEnv, testDatabase } from '../helpers/db.ts';
import { freePort, startServerProcess } from '../helpers/process.ts';
import { spawn } from 'node:child_process';
import { ROOT_DIR } from '../../server/src/db/paths.ts';

const TOKEN = 'bundle-metrics-token-0123';

t.test('node server/dist/bin/main.js: migrates, is ready, serves metrics, stops on SIGTERM', async (t) => {
  await buildServer();
  const { url } = await testDatabase(t, { migrate: false });
  const server = await startServerProcess({ ...serverDatabaseEnv(url), METRICS_TOKEN: TOKEN, ADMIN_API_KEY: 'bundle-admin-key-0123456789' }, 60_000,
    ['--enable-source-maps', 'server/dist/bin/main.js']);
  t.teardown(() => { if (server.child.exitCode === null) server.child.kill('SIGKILL'); });
  const ready = await fetch(`${server.base}/ready`);
  t.equal(ready.status, 200);
  t.same(await ready.json(), { status: 'ready', checks: { database: 'ok', migrations: 'ok', listen: 'ok' } });
  const created = await fetch(`${server.base}/api/requests`, {
    method: 'POST', headers: { authorization: 'Bearer bundle-admin-key-0123456789', 'content-type': 'application/json' }, body: '{"action":"bundle"}',
  });
  t.equal(created.status, 201);
  const metrics = await (await fetch(`${server.base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
  t.match(metrics, /agentgate_requests_created_total\{channel="api"\} 1/);
  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0, `graceful exit: ${server.output()}`);

  const port = await freePort();
  const worker = spawn(process.execPath, ['server/dist/bin/worker-main.js'], {
    cwd: ROOT_DIR, env: { PATH: process.env.PATH, ...serverDatabaseEnv(url), METRICS_TOKEN: TOKEN, METRICS_PORT: String(port), LOG_LEVEL: 'silent' }, stdio: 'ignore',
  });
  t.teardown(() => { if (worker.exitCode === null) worker.kill('SIGKILL'); });
  let text = '';
  for (let i = 0; i < 1500 && !text; i++) {
    text = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
      .then((r) => (r.ok ? r.text() : ''), () => new Promise<string>((r) => setTimeout(() => r(''), 20)));
  }
  t.match(text, /agentgate_job_queue_depth \d+/, 'the worker serves its metrics');
  t.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 401, 'to METRICS_TOKEN only');
  const exited = new Promise<number | null>((r) => worker.on('exit', r));
  worker.kill('SIGTERM');
  t.equal(await exited, 0, 'the worker stops cleanly');
});
