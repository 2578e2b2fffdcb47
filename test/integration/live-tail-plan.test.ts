/**
 * The live hub's tail read (live/log.ts readTail) runs after every notification: its
 * prepared statement must settle on a generic plan instead of being planned for each call.
 * It was planned every time (0.6 ms of planning per 0.1 ms read) while its LIMIT was a
 * plain parameter. Postgres tells, per connection, how each prepared statement was planned
 * (pg_prepared_statements), so the reads run on a one-connection pool that is then asked.
 */
import t from 'tap';
import { connect } from '../../server/src/db/connect.ts';
import type { LogCursor } from '../../server/src/events/store.ts';
import { logEnd, readTail, type LiveEvent } from '../../server/src/live/log.ts';
import { testDatabase } from '../helpers/db.ts';

t.test('the tail read is planned once, not at every read', async (t) => {
  const { sql, url } = await testDatabase(t);
  // A log of some size, so that the planner's costs are those of a real one.
  for (let chunk = 0; chunk < 2; chunk++) {
    await sql`
      insert into events (stream_id, stream_type, version, type, data)
      select 'sample-' || (${chunk * 10_000} + g), 'sample', 1, 'sample.recorded', jsonb_build_object('n', g)
      from generate_series(1, 10000) g`;
  }
  // With statistics, as autovacuum keeps them on a live server: the plan for the
  // cursor's values then reads a few rows where the generic one guesses many.
  await sql`analyze events`;
  const one = connect(url, { max: 1 });
  t.teardown(() => one.end({ timeout: 1 }));

  // As the hub reads: from the end of the log, a few new events at a time. The horizon is
  // the whole server's (pg_snapshot_xmin): a transaction of another test file, in another
  // database, holds rows back for a moment, and the hub then reads again, as here.
  const settled = async (from: LogCursor, requestMessages: boolean) => {
    const events: LiveEvent[] = [];
    let cursor = from;
    for (const deadline = Date.now() + 20_000; ;) {
      const page = await readTail(one, cursor, 500, { requestMessages });
      events.push(...page.events);
      cursor = page.cursor;
      if (!page.heldBack) return { events, cursor };
      if (Date.now() > deadline) throw new Error('rows held back for 20 s');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  let { cursor } = await settled(await logEnd(one), false);
  for (let i = 0; i < 40; i++) {
    await sql`insert into events (stream_id, stream_type, version, type) select 'tail-' || ${i} || '-' || g, 'sample', 1, 'sample.recorded' from generate_series(1, 3) g`;
    const page = await settled(cursor, i % 2 === 0);
    if (page.events.length !== 3) t.fail(`read ${i + 1}: ${page.events.length} events, not the 3 just appended`);
    cursor = page.cursor;
  }
  const plans = await one<{ statement: string; types: string[]; generic_plans: number; custom_plans: number }[]>`
    select statement, parameter_types::text[] as types, generic_plans::int, custom_plans::int from pg_prepared_statements
    where statement like '%pg_snapshot_xmin(pg_current_snapshot())%' and statement like '%held_back%'
      and statement not like '%pg_prepared_statements%'`;
  t.equal(plans.length, 2, 'two statements: with and without request events\' messages');
  for (const p of plans) {
    t.ok(p.custom_plans <= 5, `at most the five first reads are planned for their values (${p.custom_plans})`);
    t.ok(p.generic_plans >= 15, `the other reads reuse the generic plan (${p.generic_plans})`);
  }
  // The generic plan walks the (tx_id, position) index from the cursor: no scan of the log.
  const { statement, types } = plans[0]!;
  const valueOf: Record<string, string> = { xid8: `'${cursor.txId}'`, bigint: String(cursor.position), integer: '500', 'text[]': `'{secret}'` };
  const values = types.map((type) => {
    if (!(type in valueOf)) throw new Error(`a parameter of type ${type} in the tail read`);
    return valueOf[type]!;
  });
  await sql.begin(async (tx) => {
    await tx`set local plan_cache_mode = force_generic_plan`;
    await tx.unsafe(`prepare tail_read as ${statement}`);
    const plan = (await tx.unsafe(`explain (costs off) execute tail_read(${values.join(', ')})`)).map((r) => r['QUERY PLAN'] as string).join('\n');
    t.match(plan, /Index (Only )?Scan using events_tx_position_idx on events e\b/, 'the page reads the index from the cursor');
    t.notMatch(plan, /Seq Scan on events/, 'no sequential scan of the log');
    await tx.unsafe('deallocate tail_read');
  });
});
