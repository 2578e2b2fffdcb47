import t from 'tap';
import { isId, newId, pooledRandom } from '../../server/src/ids.ts';

t.test('ids are prefixed, valid, unique and sortable by creation', async (t) => {
  const ids = Array.from({ length: 5000 }, () => newId('request'));
  t.ok(ids.every((id) => isId('request', id)), 'every id matches the format');
  t.equal(new Set(ids).size, ids.length, 'no duplicates');
  t.same([...ids].sort(), ids, 'monotonic: creation order is sort order');
  t.notOk(isId('policy', ids[0]!), 'the prefix is checked');
});

t.test('the pooled source refills and stays uniform over the 32 characters', async (t) => {
  const next = pooledRandom(64); // small pool: many refills
  const counts = new Array<number>(32).fill(0);
  const draws = 320_000;
  for (let i = 0; i < draws; i++) {
    const x = next();
    if (!(x >= 0 && x < 1)) t.fail(`out of range: ${x}`);
    counts[Math.floor(x * 32)]!++;
  }
  // Each bucket expects 10,000; 5 standard deviations is about ±490.
  const worst = Math.max(...counts.map((c) => Math.abs(c - draws / 32)));
  t.ok(worst < 600, `every character drawn close to 1/32 of the time (worst deviation ${worst})`);
  // A refill yields fresh bytes, not the same pool again.
  const a = Array.from({ length: 64 }, next);
  const b = Array.from({ length: 64 }, next);
  t.not(a.join(), b.join(), 'consecutive pools differ');
});
