import { request as httpRequest, type IncomingMessage } from 'node:http';
import t from 'tap';
import { append } from '../../server/src/events/store.ts';
import type { Sql } from '../../server/src/db/connect.ts';
import { testApp } from '../helpers/app.ts';
import { oldestOpenTransaction } from '../helpers/db.ts';
import { listenOn, logOrder, settled, until } from '../helpers/live.ts';

type Line = { type: string; position: number; [k: string]: unknown };
const meta = { actor: { type: 'system' as const, id: 'test', name: 'test' }, channel: 'system' as const };

function parse(body: string): Line[] {
  return body.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
}

/** A streaming GET that hands over each complete line as it arrives. */
function follow(url: string, key: string, sql: Sql) {
  const lines: string[] = [];
  let buffer = '';
  let res: IncomingMessage | null = null;
  const waiters: (() => void)[] = [];
  const req = httpRequest(url, { headers: { authorization: `Bearer ${key}` } });
  const ended = new Promise<void>((resolve) => {
    req.on('response', (r) => {
      res = r;
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => {
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          lines.push(buffer.slice(0, nl));
          buffer = buffer.slice(nl + 1);
        }
        for (const w of waiters.splice(0)) w();
      });
      r.on('end', () => resolve());
      r.on('close', () => resolve());
    });
  });
  req.end();
  const parsed = () => lines.filter((l) => l !== '').map((l) => JSON.parse(l) as Line);
  return {
    lines,
    parsed,
    response: () => res,
    ended,
    async until(cond: () => boolean, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      while (!cond()) {
        // An open transaction elsewhere holds the follower back; say which rather than hang.
        if (Date.now() > end) throw new Error(`the followed stream stalled for ${timeoutMs} ms; ${await oldestOpenTransaction(sql)}`);
        await new Promise<void>((r) => {
          const timer = setTimeout(r, 1_000);
          waiters.push(() => { clearTimeout(timer); r(); });
        });
      }
    },
    abort: () => req.destroy(),
  };
}

t.test('NDJSON export of the log', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read']);
  for (let i = 0; i < 12; i++) await h.call('POST', '/api/requests', { key: agent.key, body: { action: `a${i}` } });
  const order = await logOrder(h.sql);
  await settled(h.sql);

  t.test('pages with a trailing cursor line, in log order, secrets removed', async (t) => {
    const first = await h.call('GET', '/api/events?limit=10');
    t.equal(first.statusCode, 200);
    t.match(first.headers['content-type'], /^application\/x-ndjson/);
    const lines = parse(first.body);
    const events = lines.filter((l) => l.type === 'event');
    t.equal(events.length, 10);
    t.same(lines[lines.length - 1], { type: 'cursor', position: events[9]!.position, hasMore: true });
    t.ok(events.every((e) => !('keyHash' in (e.data as object))), 'key hashes removed');
    t.match(events[0], { type: 'event', streamId: String, streamType: String, version: Number, eventType: String, data: Object, metadata: Object, recordedAt: String });

    const seen = events.map((e) => e.position);
    let cursor = events[9]!.position;
    for (;;) {
      const page = parse((await h.call('GET', `/api/events?from=${cursor}&limit=7`)).body);
      const last = page[page.length - 1]!;
      t.equal(last.type, 'cursor');
      seen.push(...page.filter((l) => l.type === 'event').map((l) => l.position));
      cursor = last.position;
      if (!last.hasMore) break;
    }
    t.same(seen, order, 'paging by cursor walks the whole log once, in log order');
    t.equal(cursor, order[order.length - 1]);
  });

  t.test('filters; the cursor moves past skipped rows', async (t) => {
    await settled(h.sql);
    const approvedOnly = parse((await h.call('GET', '/api/events?type=request.created&streamType=request')).body);
    const created = approvedOnly.filter((l) => l.type === 'event');
    t.equal(created.length, 12);
    t.ok(created.every((e) => e.eventType === 'request.created'));
    t.same(approvedOnly[approvedOnly.length - 1], { type: 'cursor', position: order[order.length - 1], hasMore: false });

    const keyEvents = parse((await h.call('GET', '/api/events?streamType=apikey&type=apikey.created&type=apikey.revoked')).body);
    t.ok(keyEvents.filter((l) => l.type === 'event').every((e) => e.streamType === 'apikey'));
    t.ok(keyEvents.filter((l) => l.type === 'event').length >= 2);

    const one = created[3]!;
    const stream = parse((await h.call('GET', `/api/events?stream=${one.streamId}`)).body).filter((l) => l.type === 'event');
    t.same(stream.map((e) => e.eventType), ['request.created'], 'one event for a create, the policy outcome inside');

    const at = created[5]!.recordedAt as string;
    const since = parse((await h.call('GET', `/api/events?since=${encodeURIComponent(at)}&type=request.created`)).body).filter((l) => l.type === 'event');
    t.ok(since.length >= 7 && since.every((e) => (e.recordedAt as string) >= at));
    const until_ = parse((await h.call('GET', `/api/events?until=${encodeURIComponent(at)}&type=request.created`)).body).filter((l) => l.type === 'event');
    t.ok(until_.every((e) => (e.recordedAt as string) < at));
    t.equal(since.length + until_.length, 12);

    const nothing = parse((await h.call('GET', '/api/events?type=no.such.type')).body);
    t.same(nothing, [{ type: 'cursor', position: order[order.length - 1], hasMore: false }]);
  });

  t.test('bad input and scopes', async (t) => {
    const unknown = await h.call('GET', '/api/events?from=99999999');
    t.equal(unknown.statusCode, 400);
    t.equal(unknown.json().error.code, 'INVALID_CURSOR');
    t.equal((await h.call('GET', '/api/events?limit=0')).statusCode, 400);
    t.equal((await h.call('GET', '/api/events?since=yesterday')).statusCode, 400);
    t.equal((await h.call('GET', '/api/events?colour=blue')).statusCode, 400);
    const forbidden = await h.call('GET', '/api/events', { key: agent.key });
    t.equal(forbidden.statusCode, 403);
    t.equal(forbidden.json().error.details.requiredScope, 'audit:read');
    const auditor = await h.key(['audit:read']);
    t.equal((await h.call('GET', '/api/events?limit=1', { key: auditor.key })).statusCode, 200);
  });

  t.test('follow=true replays, then streams new events as they commit', async (t) => {
    const base = await listenOn(h.app);
    await settled(h.sql);
    const now = await logOrder(h.sql);
    const last = now[now.length - 1]!;
    const middle = order[Math.floor(order.length / 2)]!;
    // The process's own listeners (its policy set, metrics) stay attached; the follower's go.
    const listenersBefore = h.app.live.listenerCount;
    const f = follow(`${base}/api/events?from=${middle}&follow=true&streamType=request&streamType=other`, h.adminKey, h.sql);
    await f.until(() => f.parsed().some((l) => l.type === 'cursor'));
    const liveMark = f.parsed().find((l) => l.type === 'cursor')!;
    t.same(liveMark, { type: 'cursor', position: last, live: true }, 'the replay ended at the end of the log');
    t.equal(f.response()!.headers['content-type'], 'application/x-ndjson');

    const req = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'later' } });
    const [other] = await h.sql.begin((tx) => append(tx, {
      streamId: 'other-1', streamType: 'other' as 'request', expectedVersion: 0,
      events: [{ type: 'other.happened', data: { secret: 'x', n: 1 } }], metadata: meta,
    }));
    await f.until(() => f.parsed().some((l) => l.position === other!.position && l.type === 'event'));
    const events = f.parsed().filter((l) => l.type === 'event');
    const wanted = new Set((await h.sql<{ position: number }[]>`
      select position from events where stream_type in ('request', 'other')`).map((r) => r.position));
    const full = await logOrder(h.sql);
    const expected = full.slice(full.indexOf(middle) + 1).filter((p) => wanted.has(p));
    t.same(events.map((e) => e.position), expected, 'everything after from, in log order: replay and live joined without gap or repeat');
    t.ok(events.some((e) => e.eventType === 'request.created' && (e.data as { id: string }).id === req.json().id));
    t.same(events[events.length - 1]!.data, { n: 1 }, 'secrets removed live too');
    f.abort();
    await f.ended;
    await until(() => h.app.live.listenerCount === listenersBefore, 'the follower to detach');
  });

  t.test('follow with limit ends after that many events with a cursor line', async (t) => {
    const base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
    const f = follow(`${base}/api/events?from=0&follow=true&limit=5`, h.adminKey, h.sql);
    await f.ended;
    const lines = f.parsed();
    t.equal(lines.filter((l) => l.type === 'event').length, 5);
    t.same(lines[lines.length - 1], { type: 'cursor', position: lines[4]!.position });
  });

  t.test('shutdown ends a followed response with a cursor line', async (t) => {
    const base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
    const f = follow(`${base}/api/events?follow=true`, h.adminKey, h.sql);
    await f.until(() => f.parsed().some((l) => l.type === 'cursor'));
    await h.app.close();
    await f.ended;
    const lines = f.parsed();
    t.equal(lines[lines.length - 1]!.type, 'cursor');
  });
});
