/**
 * The log stays append-only against the application itself: the server connects as a role
 * that may read everything and append events, and nothing else on the log or the read
 * models; migrations and rebuilds run as the owner (issue 8, item 7).
 */
import t from 'tap';
import { connect, type Sql } from '../../server/src/db/connect.ts';
import { rebuildProjections } from '../../server/src/db/migrate.ts';
import { testApp } from '../helpers/app.ts';
import { ownerRoleUrl, serverDatabaseEnv, TEST_APP_ROLE, TEST_OWNER_ROLE, testDatabase } from '../helpers/db.ts';
import { startServerProcess } from '../helpers/process.ts';
import { eventually } from '../helpers/worker.ts';

/** Runs `statement` as the app role and returns the SQLSTATE it failed with (null: it ran). */
async function failure(sql: Sql, statement: string): Promise<string | null> {
  try {
    await sql.unsafe(statement);
    return null;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

const INSUFFICIENT_PRIVILEGE = '42501';

t.test('the app role is neither a superuser nor the owner, and cannot loosen the log', async (t) => {
  const h = await testApp(t);
  const [facts] = await h.appSql<{ name: string; superuser: boolean; owner: string; member: boolean }[]>`
    select current_user as name, (select rolsuper from pg_roles where rolname = current_user) as superuser,
      pg_get_userbyid(c.relowner) as owner, pg_has_role(current_user, c.relowner, 'USAGE') as member
    from pg_class c where c.oid = 'events'::regclass`;
  t.equal(facts!.name, TEST_APP_ROLE, 'the app runs as the application role');
  t.equal(facts!.superuser, false, 'not a superuser');
  t.equal(facts!.owner, TEST_OWNER_ROLE, 'events belongs to the owner');
  t.equal(facts!.member, false, 'and the app role is not a member of the owner role');

  const refused: [string, string][] = [
    ['disable the append-only trigger', 'alter table events disable trigger events_no_update_delete'],
    ['disable every trigger', 'alter table events disable trigger all'],
    ['drop the append-only trigger', 'drop trigger events_no_update_delete on events'],
    ['replace the refusing function', "create or replace function events_refuse_change() returns trigger language plpgsql as 'begin return null; end'"],
    ['switch triggers off for the session', "set session_replication_role = 'replica'"],
    ['delete events', 'delete from events'],
    ['update events', "update events set data = '{}'"],
    ['truncate events', 'truncate events'],
    ['take the owner role', `grant ${TEST_OWNER_ROLE} to ${TEST_APP_ROLE}`],
    ['run the grants function', 'select grant_app_privileges()'],
    ['write a read model', "update requests set status = 'approved'"],
    ['delete a key', 'delete from api_keys'],
    ['insert a key', "insert into api_keys (id) values ('key_forged')"],
    ['apply a forged event to the read models', "select apply_event(row(1, '1', 'request-x', 'request', 1, 'request.created', '{\"id\":\"x\"}', '{}', now())::events)"],
  ];
  for (const [what, statement] of refused) {
    t.equal(await failure(h.appSql, statement), INSUFFICIENT_PRIVILEGE, `cannot ${what}`);
  }

  // GRANT without the grant option warns instead of failing: what counts is that nothing changed.
  const acl = async () => (await h.sql<{ acl: string | null }[]>`select relacl::text as acl from pg_class where oid = 'events'::regclass`)[0]!.acl;
  const before = await acl();
  await failure(h.appSql, `grant all on events to ${TEST_APP_ROLE}`);
  await failure(h.appSql, 'grant delete, update, truncate on events to public');
  t.equal(await acl(), before, 'GRANT changes no privilege on events');
  const [privileges] = await h.sql<{ del: boolean; upd: boolean; trunc: boolean; ins: boolean; sel: boolean }[]>`
    select has_table_privilege(${TEST_APP_ROLE}, 'events', 'DELETE') as del, has_table_privilege(${TEST_APP_ROLE}, 'events', 'UPDATE') as upd,
      has_table_privilege(${TEST_APP_ROLE}, 'events', 'TRUNCATE') as trunc, has_table_privilege(${TEST_APP_ROLE}, 'events', 'INSERT') as ins,
      has_table_privilege(${TEST_APP_ROLE}, 'events', 'SELECT') as sel`;
  t.same(privileges, { del: false, upd: false, trunc: false, ins: true, sel: true }, 'SELECT and INSERT on events, nothing more');

  // Every trigger that writes on an append runs as the owner: a new one that did not would
  // fail for the app role, or need write privileges it must not have.
  const invokers = await h.sql<{ name: string }[]>`
    select p.proname::text as name from pg_trigger g join pg_proc p on p.oid = g.tgfoid
    where g.tgrelid = 'events'::regclass and not g.tgisinternal and not p.prosecdef order by 1`;
  t.same(invokers.map((r) => r.name), ['events_notify', 'events_refuse_change', 'events_refuse_change'], 'only the notify and refusing triggers run as the caller');

  const [count] = await h.sql<{ n: number }[]>`select count(*)::int as n from events`;
  t.ok(count!.n > 0, 'the log still holds its events');
});

t.test('the app works end to end as that role; a rebuild by the owner keeps its grants', async (t) => {
  const h = await testApp(t);
  const reviewer = await h.key(['request:decide', 'request:read']);
  const created = await h.call('POST', '/api/requests', { body: { action: 'deploy.production', params: { v: 1 } } });
  t.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;
  const decided = await h.call('POST', `/api/requests/${id}/decide`, { key: reviewer.key, body: { decision: 'approved', reason: 'ok' } });
  t.equal(decided.statusCode, 200, decided.body);

  const owner = connect(ownerRoleUrl(h.dbUrl), { max: 1 });
  t.teardown(() => owner.end({ timeout: 1 }));
  const { events } = await rebuildProjections(owner);
  t.ok(events >= 3, 'the owner replayed the log');
  const [tableOwner] = await h.sql<{ owner: string }[]>`select pg_get_userbyid(relowner) as owner from pg_class where oid = 'requests'::regclass`;
  t.equal(tableOwner!.owner, TEST_OWNER_ROLE, 'the rebuilt read tables belong to the owner');

  const read = await h.call('GET', `/api/requests/${id}`);
  t.equal(read.statusCode, 200, 'the app still reads the rebuilt read models');
  t.equal(read.json().status, 'approved');
  const again = await h.call('POST', '/api/requests', { body: { action: 'deploy.staging' } });
  t.equal(again.statusCode, 201, 'and still appends');
  t.equal(await failure(h.appSql, "update requests set status = 'denied'"), INSUFFICIENT_PRIVILEGE, 'a rebuild grants no write on read models');

  // A temporary table of the appending session cannot stand in for a read model: the
  // triggers run as the owner with a pinned search_path (pg_temp last).
  const shadowed = await h.appSql.begin(async (tx) => {
    await tx`create temporary table requests (like public.requests) on commit drop`;
    await tx`
      insert into events (stream_id, stream_type, version, type, data)
      values ('request-req_shadow', 'request', 1, 'request.created',
        ${tx.json({ id: 'req_shadow', action: 'deploy.shadow', params: {}, context: {}, urgency: 'normal' })})`;
    const [row] = await tx<{ n: number }[]>`select count(*)::int as n from pg_temp.requests`;
    return row!.n;
  });
  t.equal(shadowed, 0, 'the temporary table received nothing');
  const [real] = await h.sql<{ n: number }[]>`select count(*)::int as n from requests where id = 'req_shadow'`;
  t.equal(real!.n, 1, 'the projection wrote the real read model');
});

t.test('a server process runs as the app role and migrates as the owner; a superuser DATABASE_URL alone is warned about', async (t) => {
  const h = await testDatabase(t);
  // Its own pool, named apart from the server's connections.
  const inspect = connect(h.url, { max: 1, applicationName: 'inspector' });
  t.teardown(() => inspect.end({ timeout: 1 }));
  const adminKey = 'app-role-admin-key-0123456789';
  const server = await startServerProcess({ ...serverDatabaseEnv(h.url), ADMIN_API_KEY: adminKey, LOG_LEVEL: 'warn', PUBLIC_URL: 'http://gate.test' });
  t.teardown(() => { server.child.kill('SIGKILL'); });
  const res = await fetch(`${server.base}/api/requests`, {
    method: 'POST', headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ action: 'from.process' }),
  });
  t.equal(res.status, 201, `${await res.clone().text()}\n${server.output()}`);
  const roles = await inspect<{ usename: string }[]>`
    select distinct usename::text from pg_stat_activity where datname = ${h.name} and pid <> pg_backend_pid()`;
  t.same(roles.map((r) => r.usename), [TEST_APP_ROLE], 'every connection of the server is the app role');
  t.notMatch(server.output(), /superuser|owns the event log/, 'no privilege warning for a restricted role');

  const superuser = await startServerProcess({ DATABASE_URL: h.url, MIGRATION_DATABASE_URL: undefined, ADMIN_API_KEY: adminKey, LOG_LEVEL: 'warn', PUBLIC_URL: 'http://gate.test' });
  t.teardown(() => { superuser.child.kill('SIGKILL'); });
  await eventually(async () => /a superuser: it could disable the triggers/.test(superuser.output()), 'the superuser warning');
  t.pass('a superuser DATABASE_URL without MIGRATION_DATABASE_URL starts, with a warning');
});
