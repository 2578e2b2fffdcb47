/**
 * Webhook delivery: N requests (1,000 by default) × 5 webhooks to a receiver on 127.0.0.1.
 *
 * - The worker is `server/src/worker-main.ts` (what `npm run worker` runs) as a child
 *   process, WORKER_CONCURRENCY 5 (the default): the receiver and the request creators
 *   run in this process, so they do not share the worker's event loop.
 * - Requests are created in this process through RequestCreator (the command the HTTP
 *   route calls, without HTTP), 8 at a time; each one's `request.created` fans out to 5
 *   deliveries (one queue per webhook, so at most 5 run at once whatever the concurrency).
 * - The receiver answers 200 at once; every delivery has exactly one attempt, recorded as
 *   an event (checked at the end).
 *
 * Phases, each with its own 5 webhooks:
 *   backlog — all requests created with the worker stopped, then the worker starts:
 *             deliveries/s while draining (worker start → last delivery received).
 *   live    — requests created as fast as the creators go while the worker runs:
 *             deliveries/s (first event → last delivery) and event → first-attempt latency
 *             (the event's recorded_at, which the body carries as `timestamp`, to the
 *             receiver's arrival; one clock). The creators outrun the worker, so this
 *             latency is mostly time spent queued.
 *   paced   — requests at a fixed rate below the worker's capacity (open loop): the
 *             event → first-attempt latency of a worker that keeps up.
 *
 *   node --import tsx bench/webhooks.ts [--quick]    (DATABASE_URL: the server to create a scratch database on)
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { connect, type Sql } from '../server/src/db/connect.ts';
import { migrate } from '../server/src/db/migrate.ts';
import { installJobSchema } from '../server/src/jobs/schema.ts';
import { createKey, SYSTEM_METADATA } from '../server/src/keys/commands.ts';
import { RequestCreator } from '../server/src/requests/create.ts';
import type { Principal } from '../server/src/requests/decider.ts';
import { createWebhook, deleteWebhook } from '../server/src/webhooks/commands.ts';
import { now, webhookReceiver } from './receivers.ts';
import { round, summarize, table } from './stats.ts';
import { startWorkerProcess, waitUntil, type WorkerProcess } from './worker-process.ts';

export interface WebhookBenchOptions {
  databaseUrl: string;
  quick?: boolean;
  /** Requests of the backlog and live phases (each fans out to `webhooks` deliveries); not
   *  the runner's --requests, which sizes the create bench. */
  webhookRequests?: number;
  webhooks?: number;
  workerConcurrency?: number;
  /** Concurrent request creators. */
  creators?: number;
  /** Requests of the paced phase, and their rate per second. */
  pacedRequests?: number;
  pacedRate?: number;
  log?: (line: string) => void;
}

const creators = new WeakMap<Sql, RequestCreator>();
/** One creator per pool, as a server process has one. */
function creatorFor(sql: Sql): RequestCreator {
  let c = creators.get(sql);
  if (!c) creators.set(sql, (c = RequestCreator.standalone(sql)));
  return c;
}

/** Open loop: request i is sent at start + i / rate, whether or not earlier ones finished. */
async function createPaced(sql: Sql, n: number, rate: number, principal: Principal) {
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    pending.push(creatorFor(sql).create({ action: 'bench.webhook.paced', params: { i } }, principal, SYSTEM_METADATA));
  }
  await Promise.all(pending);
}

async function createRequests(sql: Sql, n: number, creators: number, principal: Principal, phase: string) {
  let next = 0;
  const one = async () => {
    while (next < n) {
      const i = next++;
      await creatorFor(sql).create({ action: `bench.webhook.${phase}`, params: { i } }, principal, SYSTEM_METADATA);
    }
  };
  await Promise.all(Array.from({ length: creators }, one));
}

export async function run(opts: WebhookBenchOptions): Promise<Record<string, number | string>> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const requests = opts.webhookRequests ?? (opts.quick ? 200 : 1000);
  const webhookCount = opts.webhooks ?? 5;
  const concurrency = opts.workerConcurrency ?? 5;
  const creators = opts.creators ?? 8;
  const pacedRequests = opts.pacedRequests ?? (opts.quick ? 50 : 300);
  const pacedRate = opts.pacedRate ?? 20;
  const expected = requests * webhookCount;
  const timeoutMs = Math.max(120_000, expected * 20);

  const sql = connect(opts.databaseUrl, { max: creators + 2, applicationName: 'agentgate-bench-webhooks' });
  const receiver = await webhookReceiver();
  let worker: WorkerProcess | null = null;
  try {
    await migrate(sql);
    await installJobSchema(sql, opts.databaseUrl);
    const { id: keyId } = await createKey(sql, { name: 'bench webhooks', scopes: ['admin'], rateLimit: null }, SYSTEM_METADATA);
    const principal: Principal = { type: 'key', id: keyId, name: 'bench webhooks', admin: true };

    const subscribe = async () => {
      const ids: string[] = [];
      for (let i = 0; i < webhookCount; i++) {
        const { id } = await createWebhook(sql, { url: `${receiver.url}/${i}`, events: ['request.created'] }, { allowPrivate: true }, SYSTEM_METADATA);
        ids.push(id);
      }
      return ids;
    };
    const unsubscribe = async (ids: string[]) => { for (const id of ids) await deleteWebhook(sql, id, SYSTEM_METADATA); };

    // backlog: everything queued first, then drained.
    let hooks = await subscribe();
    await createRequests(sql, requests, creators, principal, 'backlog');
    // Deliveries wait in their webhook's line (webhook_outbox), one job per line.
    const [queued] = await sql<{ n: number; lines: number }[]>`
      select count(*)::int as n, (select count(*)::int from graphile_worker.jobs where task_identifier = 'deliver_webhook') as lines
      from webhook_outbox`;
    if (queued!.n !== expected || queued!.lines !== webhookCount) {
      throw new Error(`expected ${expected} queued deliveries in ${webhookCount} lines, found ${queued!.n} in ${queued!.lines}`);
    }
    worker = startWorkerProcess({ DATABASE_URL: opts.databaseUrl, WEBHOOK_ALLOW_PRIVATE: 'true', WORKER_CONCURRENCY: String(concurrency) });
    await worker.ready(sql);
    const drainStart = now();
    await waitUntil(() => receiver.arrivals.size >= expected, 'the backlog to drain', timeoutMs);
    const backlogSeconds = (receiver.arrivals.last() - drainStart) / 1000;
    await unsubscribe(hooks);

    // live: requests created while the worker runs.
    receiver.clear();
    hooks = await subscribe();
    const liveStart = now();
    await createRequests(sql, requests, creators, principal, 'live');
    const createSeconds = (now() - liveStart) / 1000;
    await waitUntil(() => receiver.arrivals.size >= expected, 'the live deliveries', timeoutMs);
    const liveSeconds = (receiver.arrivals.last() - liveStart) / 1000;
    const latency = summarize(Float64Array.from(receiver.latencyMs.values()));
    await unsubscribe(hooks);

    // paced: a rate the worker keeps up with.
    receiver.clear();
    hooks = await subscribe();
    const pacedExpected = pacedRequests * webhookCount;
    await createPaced(sql, pacedRequests, pacedRate, principal);
    await waitUntil(() => receiver.arrivals.size >= pacedExpected, 'the paced deliveries', timeoutMs);
    const paced = summarize(Float64Array.from(receiver.latencyMs.values()));
    const totalExpected = 2 * expected + pacedExpected;

    // Every delivery was recorded exactly once, as one successful attempt (events, since
    // deleting a phase's webhooks removes its rows from the deliveries projection).
    const recorded = async () => (await sql<{ attempts: number; distinct: number; ok: number }[]>`
      select count(*)::int as attempts,
             count(distinct (data->>'deliveryId', data->>'attempt'))::int as distinct,
             count(*) filter (where (data->>'ok')::boolean)::int as ok
      from events where type = 'webhook.delivery_attempted'`)[0]!;
    await waitUntil(async () => (await recorded()).attempts >= totalExpected, 'every attempt to be recorded', timeoutMs);
    const check = await recorded();
    if (check.attempts !== totalExpected || check.distinct !== totalExpected || check.ok !== totalExpected) {
      throw new Error(`expected ${totalExpected} successful attempts recorded once, got ${JSON.stringify(check)}`);
    }

    const result = {
      'backlog.deliveries': expected,
      'backlog.seconds': round(backlogSeconds),
      'backlog.deliveries_per_s': round(expected / backlogSeconds, 0),
      'live.deliveries': expected,
      'live.seconds': round(liveSeconds),
      'live.deliveries_per_s': round(expected / liveSeconds, 0),
      'live.requests_per_s': round(requests / createSeconds, 0),
      'live.latency_p50_ms': round(latency.p50, 0),
      'live.latency_p95_ms': round(latency.p95, 0),
      'live.latency_p99_ms': round(latency.p99, 0),
      'live.latency_max_ms': round(latency.max, 0),
      'paced.deliveries': pacedExpected,
      'paced.requests_per_s': pacedRate,
      'paced.deliveries_per_s': pacedRate * webhookCount,
      'paced.latency_p50_ms': round(paced.p50, 0),
      'paced.latency_p95_ms': round(paced.p95, 0),
      'paced.latency_p99_ms': round(paced.p99, 0),
      'paced.latency_max_ms': round(paced.max, 0),
      requests_per_phase: requests,
      webhooks: webhookCount,
      worker: `1 process (npm run worker), WORKER_CONCURRENCY=${concurrency}`,
    };
    log(`webhooks: ${requests} requests × ${webhookCount} webhooks per phase, worker concurrency ${concurrency}, ${creators} creators`);
    log(table(
      ['phase', 'deliveries', 's', 'deliveries/s', 'requests/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'],
      [
        ['backlog', expected, result['backlog.seconds'], result['backlog.deliveries_per_s'], '', '', '', '', ''],
        ['live', expected, result['live.seconds'], result['live.deliveries_per_s'], result['live.requests_per_s'],
          result['live.latency_p50_ms'], result['live.latency_p95_ms'], result['live.latency_p99_ms'], result['live.latency_max_ms']],
        ['paced', pacedExpected, '', `${pacedRate * webhookCount} (offered)`, pacedRate,
          result['paced.latency_p50_ms'], result['paced.latency_p95_ms'], result['paced.latency_p99_ms'], result['paced.latency_max_ms']],
      ],
    ));
    log('latency: event recorded → first attempt received; live is a burst the worker queues, paced a rate it keeps up with\n');
    return result;
  } finally {
    await worker?.stop();
    await receiver.close();
    await sql.end({ timeout: 1 });
  }
}

// Alone: a scratch database on DATABASE_URL's server, dropped afterwards.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `agentgate_bench_${randomBytes(6).toString('hex')}`;
  const admin = connect(serverUrl, { max: 1 });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let code = 0;
  try {
    await run({ databaseUrl: url.toString(), quick: process.argv.includes('--quick') });
  } catch (err) {
    console.error(err);
    code = 1;
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 1 });
  }
  process.exit(code);
}
