/** The live connection caps, without a server: per key and kind, the process total, release once. */
import t from 'tap';
import { isRefusal, LiveLimits, type LiveSlot } from '../../server/src/live/limits.ts';

const take = (l: LiveLimits, kind: 'longpoll' | 'websocket' | 'follower', key: string): LiveSlot => {
  const r = l.acquire(kind, key);
  if (isRefusal(r)) throw new Error(r.message);
  return r;
};

t.test('each key and kind has its own cap', async (t) => {
  const l = new LiveLimits({ perKey: { longpoll: 2, websocket: 1, follower: 1 }, total: 100 });
  take(l, 'longpoll', 'a');
  take(l, 'longpoll', 'a');
  t.match(l.acquire('longpoll', 'a'), { scope: 'key', kind: 'longpoll', limit: 2 });
  take(l, 'websocket', 'a');
  t.match(l.acquire('websocket', 'a'), { scope: 'key', kind: 'websocket', limit: 1 });
  take(l, 'longpoll', 'b');
  take(l, 'follower', 'a');
  t.equal(l.held('a'), 4);
  t.equal(l.held('a', 'longpoll'), 2);
  t.equal(l.total, 5);
});

t.test('the total cap applies across keys and kinds', async (t) => {
  const l = new LiveLimits({ total: 2 });
  take(l, 'longpoll', 'a');
  const s = take(l, 'websocket', 'b');
  t.match(l.acquire('follower', 'c'), { scope: 'server', limit: 2, message: /maximum of 2 live connections/ });
  s.release();
  t.notOk(isRefusal(l.acquire('follower', 'c')));
});

t.test('a slot is released once, however often release is called', async (t) => {
  const l = new LiveLimits({ perKey: { longpoll: 2 } });
  const s = take(l, 'longpoll', 'a');
  take(l, 'longpoll', 'a');
  s.release();
  s.release();
  t.equal(l.held('a', 'longpoll'), 1, 'a second release does not free another connection\'s slot');
  t.equal(l.total, 1);
});

t.test('a key with nothing open is forgotten, and counts start again from zero', async (t) => {
  const l = new LiveLimits({ perKey: { websocket: 1 } });
  const s = take(l, 'websocket', 'a');
  s.release();
  t.equal(l.held('a'), 0);
  const again = take(l, 'websocket', 'a');
  s.release();
  t.equal(l.held('a', 'websocket'), 1, 'an old slot cannot release a new one');
  again.release();
  t.equal(l.total, 0);
});

t.test('defaults fill what is not set', async (t) => {
  const l = new LiveLimits({ perKey: { follower: 7 } });
  t.equal(l.caps.perKey.follower, 7);
  t.ok(l.caps.perKey.longpoll > 0 && l.caps.perKey.websocket > 0 && l.caps.total > 0);
});
