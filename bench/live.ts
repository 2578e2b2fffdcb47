/**
 * Live updates: how fast a waiting agent learns of a decision, what holding many waiting
 * clients costs the server, and how fast the log replays.
 *
 * The server is bench/server.ts (buildApp, which runs its own live hub) in a child
 * process; clients run in this process. Runnable alone:
 *   DATABASE_URL=postgres://… node --import tsx bench/live.ts [--quick]
 * (alone, it creates and drops a database of its own on DATABASE_URL's server).
 *
 * (a) notify latency: N requests are created and left pending; N clients wait on them
 *     (long-poll, or WebSocket each subscribed to its own request, or WebSocket each
 *     subscribed to every request event); then 4 deciders decide them one after another.
 *     Latency = from sending the decide request to the waiting client receiving the
 *     decision, so it includes the decide itself (its round trip is reported beside it).
 *     RSS is the server child's, read from /proc while all N clients are connected.
 * (b) replay: 1,000,000 events are inserted with one `insert … select generate_series`
 *     per 100,000 rows, under `session_replication_role = replica` so the per-row
 *     projection trigger (and the NOTIFY) are skipped: only replay speed is measured and
 *     the rows are not read through projections. They are inserted before the server
 *     starts, so its hub starts past them. Then the whole log is read three ways:
 *     NDJSON over HTTP, a WebSocket subscription from 0, and the page reader in-process.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { connect, type Sql } from '../server/src/db/connect.ts';
import { migrate } from '../server/src/db/migrate.ts';
import { LOG_START } from '../server/src/events/store.ts';
import { createKey, SYSTEM_METADATA } from '../server/src/keys/commands.ts';
import { readFiltered } from '../server/src/live/log.ts';
import { jsonClient } from './http.ts';
import { round, summarize, table } from './stats.ts';

export interface LiveBenchOptions {
  databaseUrl: string;
  quick?: boolean;
  /** Waiting clients per mode (default 1000). */
  waiters?: number;
  /** Events in the replay log (default 1,000,000). */
  replayEvents?: number;
  log?: (line: string) => void;
}

type Result = Record<string, number | string>;

const SERVER_ENTRY = fileURLToPath(new URL('./server.ts', import.meta.url));
const DECIDERS = 4;

interface Child { port: number; pid: number; stop(): Promise<void> }

function startServer(databaseUrl: string): Promise<Child> {
  const child = fork(SERVER_ENTRY, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, DATABASE_URL: databaseUrl, DB_POOL_SIZE: '10' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill(); reject(new Error('the bench server did not start within 30 s')); }, 30_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the bench server exited early (code ${code})`)); });
    child.once('message', (m: { port: number }) => {
      clearTimeout(timer);
      resolve({
        port: m.port, pid: child.pid ?? 0,
        stop: async () => {
          if (child.exitCode === null && child.connected) child.send('stop');
          const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killer);
        },
      });
    });
  });
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? round(Number(m[1]) / 1024, 1) : NaN;
}

/** Samples a process's RSS until stopped; returns the peak in MB. */
function rssPeak(pid: number) {
  let peak = rssMb(pid);
  const timer = setInterval(() => { peak = Math.max(peak, rssMb(pid)); }, 50);
  return () => { clearInterval(timer); return Math.max(peak, rssMb(pid)); };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectJson(res: { status: number; body: string }, status: number, what: string) {
  if (res.status !== status) throw new Error(`${what}: HTTP ${res.status} ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body) as Record<string, unknown>;
}

async function createPending(port: number, key: string, n: number): Promise<string[]> {
  const client = jsonClient(port, 16);
  const ids: string[] = new Array(n);
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let i = next++; i < n; i = next++) {
      const body = expectJson(await client.request('POST', '/api/requests', { action: 'bench.wait', params: { i } }, { authorization: `Bearer ${key}` }), 201, 'create');
      ids[i] = body.id as string;
    }
  }));
  client.close();
  return ids;
}

/** Decides every request with DECIDERS concurrent clients; records when each decide was sent and answered. */
async function decideAll(port: number, adminKey: string, ids: string[]) {
  const client = jsonClient(port, DECIDERS);
  const sent = new Map<string, number>();
  const roundTrip: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: DECIDERS }, async () => {
    for (let i = next++; i < ids.length; i = next++) {
      const id = ids[i]!;
      const t0 = performance.now();
      sent.set(id, t0);
      expectJson(await client.request('POST', `/api/requests/${id}/decide`, { decision: 'approved', reason: 'bench' }, { authorization: `Bearer ${adminKey}` }), 200, 'decide');
      roundTrip.push(performance.now() - t0);
    }
  }));
  client.close();
  return { sent, roundTrip, seconds: (performance.now() - start) / 1000 };
}

function record(out: Result, name: string, latencies: number[], decide: number[], rss: number, extra: Result = {}) {
  const l = summarize(Float64Array.from(latencies));
  const d = summarize(Float64Array.from(decide));
  out[`${name}.clients`] = latencies.length;
  out[`${name}.p50_ms`] = round(l.p50);
  out[`${name}.p99_ms`] = round(l.p99);
  out[`${name}.max_ms`] = round(l.max);
  out[`${name}.decide_p50_ms`] = round(d.p50);
  out[`${name}.server_rss_mb`] = rss;
  Object.assign(out, extra);
}

async function benchLongPoll(port: number, pid: number, agentKey: string, adminKey: string, n: number, out: Result, log: (s: string) => void) {
  const ids = await createPending(port, agentKey, n);
  const agent = new http.Agent({ keepAlive: true, maxSockets: n + 10 });
  const notified = new Map<string, number>();
  const answers = ids.map((id) => new Promise<void>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: `/api/requests/${id}/wait?timeout=300`, agent, headers: { authorization: `Bearer ${agentKey}` } }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200 || res.headers['x-agentgate-wait'] !== 'complete') reject(new Error(`wait ${id}: ${res.statusCode} ${res.headers['x-agentgate-wait']}`));
        notified.set(id, performance.now());
        resolve();
      });
    });
    req.on('error', reject);
    req.end();
  }));
  await sleep(n / 100 * 100 + 1000); // every long-poll reaches the server and registers its watch
  if (notified.size > 0) throw new Error(`${notified.size} long-polls answered before any decision`);
  const rss = rssMb(pid);
  const decided = await decideAll(port, adminKey, ids);
  await Promise.all(answers);
  agent.destroy();
  record(out, `longpoll_${n}`, ids.map((id) => notified.get(id)! - decided.sent.get(id)!), decided.roundTrip, rss);
  log(`  long-poll: ${n} waiters answered; decisions took ${round(decided.seconds, 1)} s`);
}

interface WsClient { ws: WebSocket; ready: Promise<void> }

function openStream(port: number, key: string, filter: object | undefined, onMessage: (text: string) => void): WsClient {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/stream`, ['agentgate.v1', `bearer.${key}`]);
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"authenticated"')) ws.send(JSON.stringify({ type: 'subscribe', ...(filter ? { filter } : {}) }));
      else if (text.startsWith('{"type":"live"')) resolve();
      else onMessage(text);
    });
  });
  return { ws, ready };
}

async function benchWebSocket(port: number, pid: number, agentKey: string, adminKey: string, n: number, mode: 'own' | 'all', decisions: number, out: Result, log: (s: string) => void) {
  const ids = await createPending(port, agentKey, mode === 'own' ? n : decisions);
  const index = new Map(ids.map((id, i) => [id, i]));
  const received: number[][] = ids.map(() => []);
  const idOf = (text: string) => /"streamId":"request-([^"]+)"/.exec(text)?.[1];
  const clients: WsClient[] = [];
  for (let c = 0; c < n; c++) {
    const own = mode === 'own' ? ids[c]! : null;
    clients.push(openStream(port, agentKey, own ? { requestIds: [own], types: ['request.approved'] } : { types: ['request.approved'] }, (text) => {
      const id = idOf(text);
      if (id !== undefined) received[index.get(id)!]!.push(performance.now());
    }));
    if (c % 100 === 99) await Promise.all(clients.slice(c - 99, c + 1).map((x) => x.ready));
  }
  await Promise.all(clients.map((c) => c.ready));
  const rss = rssMb(pid);
  const decided = await decideAll(port, adminKey, ids);
  const perDecision = mode === 'own' ? 1 : n;
  const deadline = performance.now() + 60_000;
  while (received.some((r) => r.length < perDecision)) {
    if (performance.now() > deadline) throw new Error('not every subscriber was notified within 60 s');
    await sleep(10);
  }
  const latencies = ids.flatMap((id, i) => received[i]!.map((t) => t - decided.sent.get(id)!));
  const rssAfter = rssMb(pid);
  await Promise.all(clients.map((c) => new Promise<void>((resolve) => { c.ws.once('close', () => resolve()); c.ws.close(); })));
  const name = mode === 'own' ? `ws_own_${n}` : `ws_all_${n}x${decisions}`;
  record(out, name, latencies, decided.roundTrip, Math.max(rss, rssAfter), mode === 'all' ? { [`${name}.messages`]: latencies.length } : {});
  log(`  websocket (${mode}): ${latencies.length} notifications to ${n} subscribers`);
}

async function insertReplayLog(sql: Sql, total: number, log: (s: string) => void) {
  const batch = 100_000;
  const t0 = performance.now();
  for (let from = 1; from <= total; from += batch) {
    const to = Math.min(total, from + batch - 1);
    await sql.begin(async (tx) => {
      // Skips the projection trigger (and the NOTIFY): only the replay is measured.
      await tx`set local session_replication_role = replica`;
      await tx`
        insert into events (stream_id, stream_type, version, type, data, metadata)
        select 'request-req_replay' || lpad(g::text, 8, '0'), 'request', 1, 'request.created',
          jsonb_build_object('id', 'req_replay' || lpad(g::text, 8, '0'), 'action', 'send_email',
            'params', jsonb_build_object('to', 'user' || g || '@example.com', 'subject', 'Quarterly report'),
            'context', jsonb_build_object('agent', 'mailer'), 'urgency', 'normal', 'expiresAt', null,
            'requester', jsonb_build_object('id', 'key_bench', 'name', 'bench agent')),
          '{"actor":{"type":"key","id":"key_bench","name":"bench agent"},"channel":"api"}'::jsonb
        from generate_series(${from}::int, ${to}::int) g`;
    });
  }
  await sql`analyze events`;
  const seconds = (performance.now() - t0) / 1000;
  log(`  inserted ${total} events in ${round(seconds, 1)} s`);
  return seconds;
}

async function replayNdjson(port: number, key: string, limit: number): Promise<{ events: number; seconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: `/api/events?from=0&limit=${limit}`, headers: { authorization: `Bearer ${key}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`GET /api/events: ${res.statusCode}`));
      let lines = 0;
      res.on('data', (chunk: Buffer) => {
        for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
      });
      res.on('end', () => resolve({ events: lines - 1, seconds: (performance.now() - t0) / 1000 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function replayWebSocket(port: number, key: string): Promise<{ events: number; seconds: number }> {
  let events = 0;
  const t0 = performance.now();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/api/stream`, ['agentgate.v1', `bearer.${key}`]);
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"type":"event"')) events++;
      else if (text.startsWith('{"type":"authenticated"')) ws.send(JSON.stringify({ type: 'subscribe', from: 0 }));
      else if (text.startsWith('{"type":"live"')) resolve();
    });
  });
  const seconds = (performance.now() - t0) / 1000;
  ws.close();
  return { events, seconds };
}

async function replayInProcess(sql: Sql): Promise<{ events: number; seconds: number }> {
  let cursor = LOG_START;
  let events = 0;
  const t0 = performance.now();
  for (;;) {
    const page = await readFiltered(sql, cursor, 1000, {});
    events += page.events.length;
    cursor = page.cursor;
    if (page.events.length < 1000) break;
  }
  return { events, seconds: (performance.now() - t0) / 1000 };
}

export async function run(opts: LiveBenchOptions): Promise<Result> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const quick = opts.quick ?? false;
  const n = opts.waiters ?? (quick ? 200 : 1000);
  const replayEvents = opts.replayEvents ?? (quick ? 100_000 : 1_000_000);
  const broadcastDecisions = quick ? 20 : 100;
  const out: Result = {};
  const sql = connect(opts.databaseUrl, { max: 4, applicationName: 'agentgate-bench' });
  let server: Child | null = null;
  try {
    await migrate(sql);
    log(`live: inserting ${replayEvents} events for the replay (projection trigger skipped)`);
    out['replay.insert_s'] = round(await insertReplayLog(sql, replayEvents, log), 1);
    const admin = await createKey(sql, { name: 'bench admin', scopes: ['admin'], rateLimit: null }, SYSTEM_METADATA);
    server = await startServer(opts.databaseUrl);
    out.server = `child process (pid ${server.pid}), pool 10, ${DECIDERS} deciders`;
    out.latency = 'decide sent -> waiting client has the decision (includes the decide)';
    const setup = jsonClient(server.port, 1);
    const agent = expectJson(await setup.request('POST', '/api/keys', { name: 'bench agent', scopes: ['request:create', 'request:read'], rateLimit: null }, { authorization: `Bearer ${admin.key}` }), 201, 'POST /api/keys') as { key: string };
    setup.close();
    out['idle.server_rss_mb'] = rssMb(server.pid);

    log(`live (a): ${n} long-pollers, ${n} WebSocket subscribers (own request), ${n} subscribers to all decisions`);
    await benchLongPoll(server.port, server.pid, agent.key, admin.key, n, out, log);
    await benchWebSocket(server.port, server.pid, agent.key, admin.key, n, 'own', n, out, log);
    await benchWebSocket(server.port, server.pid, agent.key, admin.key, n, 'all', broadcastDecisions, out, log);

    log(`live (b): replaying a ${replayEvents}-event log`);
    const peakNd = rssPeak(server.pid);
    const nd = await replayNdjson(server.port, admin.key, 1_000_000);
    out['replay_ndjson.events'] = nd.events;
    out['replay_ndjson.events_per_s'] = Math.round(nd.events / nd.seconds);
    out['replay_ndjson.server_rss_mb'] = peakNd();
    const peakWs = rssPeak(server.pid);
    const ws = await replayWebSocket(server.port, admin.key);
    out['replay_ws.events'] = ws.events;
    out['replay_ws.events_per_s'] = Math.round(ws.events / ws.seconds);
    out['replay_ws.server_rss_mb'] = peakWs();
    const raw = await replayInProcess(sql);
    out['replay_reader.events'] = raw.events;
    out['replay_reader.events_per_s'] = Math.round(raw.events / raw.seconds);
    out.replay_reader = 'readFiltered pages of 1000 in the bench process (database + driver only)';

    const rows = Object.entries(out).filter(([k]) => k.includes('.')).reduce<Record<string, Record<string, number | string>>>((acc, [k, v]) => {
      const dot = k.lastIndexOf('.');
      (acc[k.slice(0, dot)] ??= {})[k.slice(dot + 1)] = v;
      return acc;
    }, {});
    const cols = [...new Set(Object.values(rows).flatMap((r) => Object.keys(r)))];
    log(table(['case', ...cols], Object.entries(rows).map(([kase, r]) => [kase, ...cols.map((c) => r[c] ?? '')])));
    return out;
  } finally {
    await server?.stop();
    await sql.end({ timeout: 1 });
  }
}

// Alone: a database of its own on DATABASE_URL's server, dropped afterwards.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    console.error('set DATABASE_URL (or use npm run bench -- --only live)');
    process.exit(2);
  }
  const name = `agentgate_bench_${randomBytes(6).toString('hex')}`;
  const admin = connect(serverUrl, { max: 1 });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  try {
    console.log(JSON.stringify(await run({ databaseUrl: url.toString(), quick: process.argv.includes('--quick') }), null, 2));
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 1 });
  }
}
