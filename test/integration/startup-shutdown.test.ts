/**
 * `npm start` as a newcomer runs it: no DATABASE_URL, so an embedded PostgreSQL under
 * DATA_DIR; the first start prints the URL and an admin key once; SIGTERM answers the
 * requests in flight, stops the embedded database and exits 0.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { connect } from '../../server/src/db/connect.ts';
import { ROOT_DIR } from '../../server/src/db/paths.ts';
import t from 'tap';
import { freePort, heldWaits, startServerProcess } from '../helpers/process.ts';

t.test('embedded start, first admin key, graceful SIGTERM', async (t) => {
  mkdirSync(path.join(ROOT_DIR, 'data'), { recursive: true }); // absent on a fresh clone
  const dataDir = mkdtempSync(path.join(ROOT_DIR, 'data', 'start-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const pgPort = await freePort();
  const env = { DATABASE_URL: undefined, DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(pgPort), LOG_LEVEL: 'info' };

  const first = await startServerProcess(env, 120_000);
  t.teardown(() => { first.child.kill('SIGKILL'); });
  const key = /\b(agk_[A-Za-z0-9_-]{43})\b/.exec(first.output())?.[1];
  t.ok(key, 'the first start prints an admin key');
  t.match(first.output(), /listening on http:\/\/127\.0\.0\.1:\d+/, 'and the URL');
  t.notMatch(first.output().replace(key!, ''), /agk_/, 'the key appears once, only where it is shown');

  const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const created = await (await fetch(`${first.base}/api/requests`, { method: 'POST', headers: auth, body: JSON.stringify({ action: 'deploy' }) })).json() as { id: string };
  const waiting = fetch(`${first.base}/api/requests/${created.id}/wait?timeout=120`, { headers: auth });
  await heldWaits(first.base, 1, key!);
  first.child.kill('SIGTERM');
  const answer = await waiting;
  t.equal(answer.status, 200, 'the long-poll in flight is answered');
  t.equal(answer.headers.get('x-agentgate-wait'), 'timeout');
  t.equal(await first.exited, 0, 'exits 0');
  t.match(first.output(), /shutting down/);

  const probe = connect(`postgres://postgres:postgres@127.0.0.1:${pgPort}/agentgate`, { max: 1, connectTimeout: 2 });
  await t.rejects(probe`select 1`, 'the embedded database was stopped with the server');
  await probe.end({ timeout: 1 }).catch(() => {});

  // A second start on the same data: the data is still there, no new key is printed.
  const second = await startServerProcess(env, 120_000);
  t.teardown(() => { second.child.kill('SIGKILL'); });
  t.notMatch(second.output(), /agk_/, 'no key on later starts');
  const again = await fetch(`${second.base}/api/requests/${created.id}`, { headers: auth });
  t.equal(again.status, 200, 'the first key and the request survived the restart');

  // Two roles of its own: the owner holds the database, the server runs as the app role.
  const admin = connect(`postgres://postgres:postgres@127.0.0.1:${pgPort}/agentgate`, { max: 1, applicationName: 'inspector' });
  t.teardown(() => admin.end({ timeout: 1 }));
  const [db] = await admin<{ owner: string }[]>`select pg_get_userbyid(datdba) as owner from pg_database where datname = 'agentgate'`;
  t.equal(db!.owner, 'agentgate_owner', 'the agentgate database belongs to the owner role');
  const users = await admin<{ usename: string; superuser: boolean }[]>`
    select distinct a.usename::text, r.rolsuper as superuser from pg_stat_activity a join pg_roles r on r.rolname = a.usename
    where a.datname = 'agentgate' and a.pid <> pg_backend_pid()`;
  t.same(users, [{ usename: 'agentgate_app', superuser: false }], 'the server connects as agentgate_app only');
  t.equal(statSync(path.join(dataDir, 'database-roles.json')).mode & 0o777, 0o600, 'the roles\' passwords are readable by their user only');
  t.notMatch(first.output() + second.output(), /superuser|owns the event log/, 'no privilege warning');
  second.child.kill('SIGTERM');
  t.equal(await second.exited, 0);
});
