import t from 'tap';
import { testDatabase } from '../helpers/db.ts';
import { inProcessWorker } from '../helpers/worker.ts';

t.test("the worker's heartbeat sweeps rate-limit hits older than any window", async (t) => {
  const { sql, url } = await testDatabase(t);
  await sql`insert into rate_limit_hits (key_id, hit_at) values
    ('key_quiet', now() - interval '2 hours'), ('key_quiet', now() - interval '61 minutes'), ('key_busy', now())`;
  await inProcessWorker(t, sql, url);
  const left = await sql<{ key_id: string }[]>`select key_id from rate_limit_hits order by key_id`;
  t.same(left.map((r) => r.key_id), ['key_busy'], 'old hits are gone, the recent one stays');
});
