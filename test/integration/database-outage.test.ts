/**
 * A database outage under load: a real server process against a throwaway embedded
 * PostgreSQL that the test stops and starts again. While it is down every API call must
 * answer 503 SERVICE_UNAVAILABLE with Retry-After within the bound (never a 500, never a
 * hang), a long-poll must answer by its timeout, deep health must answer 503 quickly;
 * once it is back the server must serve again within seconds, by itself, without losing
 * anything it acknowledged, and an idempotent retry must return the original result.
 *
 * Bounds are generous (a loaded 2-core machine); the figures measured are printed in the
 * assertions' messages.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../../server/src/db/embedded.ts';
import { freePort, heldWaits, startServerProcess } from '../helpers/process.ts';

const ADMIN_KEY = 'outage-test-admin-key-0123456789';
/** DB_QUERY_TIMEOUT_MS's default: the bound on any answer while the database is away. */
const QUERY_BOUND_MS = 5_000;
/** What a loaded machine may add to a bound before it counts as a hang. */
const SLACK_MS = 3_000;
/** A call that has not answered after this long is a hang. */
const HANG_MS = 30_000;

interface Answer {
  path: string;
  status: number;
  ms: number;
  code?: string;
  retryAfter: string | null;
  body: unknown;
  hung?: boolean;
}

t.test('a database outage under load: fast 503s, honest long-polls, reconnection, nothing lost', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'agentgate-outage-'));
  const pgPort = await freePort();
  let pg: EmbeddedDatabase | null = null;
  // Registered before anything can fail: the throwaway cluster never outlives the test.
  t.teardown(async () => {
    await pg?.stop().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  });
  pg = await startEmbeddedPostgres({ dataDir, port: pgPort });

  const server = await startServerProcess({
    DATABASE_URL: pg.url,
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: 'warn',
    WORKER_HEARTBEAT_MS: '500',
  }, 120_000);
  t.teardown(() => { server.child.kill('SIGKILL'); });
  const base = server.base;

  const call = async (method: string, urlPath: string, opts: { key?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const started = performance.now();
    const headers: Record<string, string> = { authorization: `Bearer ${opts.key ?? ADMIN_KEY}`, ...opts.headers };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(base + urlPath, {
        method, headers, signal: AbortSignal.timeout(HANG_MS),
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      });
      const text = await res.text();
      let body: unknown = text;
      try { body = JSON.parse(text); } catch { /* not JSON */ }
      const code = (body as { error?: { code?: string } })?.error?.code;
      return { path: `${method} ${urlPath}`, status: res.status, ms: performance.now() - started, retryAfter: res.headers.get('retry-after'), body, ...(code ? { code } : {}) };
    } catch (err) {
      return { path: `${method} ${urlPath}`, status: 0, ms: performance.now() - started, retryAfter: null, body: String(err), hung: true };
    }
  };
  const create = (idempotencyKey: string) =>
    call('POST', '/api/requests', { body: { action: 'outage.test', params: { idempotencyKey } }, headers: { 'idempotency-key': idempotencyKey } });

  // A second key decides (a key may not decide its own requests).
  const deciderRes = await call('POST', '/api/keys', { body: { name: 'decider', scopes: ['request:decide', 'request:read'] } });
  t.equal(deciderRes.status, 201, 'a decider key');
  const decider = (deciderRes.body as { key: string }).key;

  // Before: creates succeed; these are acknowledged and must survive.
  const acknowledged = new Map<string, string>(); // idempotency key → request id
  for (let i = 0; i < 5; i++) {
    const a = await create(`before-${i}`);
    t.equal(a.status, 201, `create before the outage (${a.status})`);
    acknowledged.set(`before-${i}`, (a.body as { id: string }).id);
  }
  const pendingId = acknowledged.get('before-0')!;

  // Light load through the outage: one create after another, each with its own key.
  const loadAnswers: (Answer & { idempotencyKey: string })[] = [];
  let loadRunning = true;
  let seq = 0;
  const load = (async () => {
    while (loadRunning) {
      const idempotencyKey = `load-${seq++}`;
      const a = await create(idempotencyKey);
      loadAnswers.push({ ...a, idempotencyKey, ms: a.ms });
      if (a.status === 201) acknowledged.set(idempotencyKey, (a.body as { id: string }).id);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  // A long-poll held before the database goes away.
  const heldWait = call('GET', `/api/requests/${pendingId}/wait?timeout=3`);
  await heldWaits(base, 1, ADMIN_KEY);
  const heldStarted = performance.now();

  await pg.stop();
  const stoppedAt = performance.now();
  t.comment('postgres stopped');

  const held = await heldWait;
  const heldMs = performance.now() - heldStarted;
  t.ok(held.status === 503 || (held.status === 200), `the held wait?timeout=3 answers 503 or its last state (${held.status} ${held.code ?? ''})`);
  t.ok(heldMs < 3_000 + SLACK_MS + 1_000, `the held wait?timeout=3 answers by its timeout (${Math.round(heldMs)} ms)`);
  if (held.status === 503) t.ok(held.retryAfter, 'with Retry-After');

  // Through the outage: every kind of call, several times.
  const during: Answer[] = [];
  const probeUntil = stoppedAt + 10_000;
  while (performance.now() < probeUntil) {
    const round = await Promise.all([
      call('GET', `/api/requests/${pendingId}`),
      call('GET', '/api/requests?limit=5'),
      call('POST', `/api/requests/${pendingId}/decide`, { key: decider, body: { decision: 'approved', reason: 'during the outage' } }),
      call('GET', '/api/policies'),
      call('GET', `/api/requests/${pendingId}/wait?timeout=3`),
    ]);
    during.push(...round);
  }
  const deep = await call('GET', '/health?deep=true');
  const shallow = await call('GET', '/health');
  if (server.child.exitCode !== null) {
    t.fail(`the server process exited (${server.child.exitCode}) during the outage:\n${server.output()}`);
    return;
  }

  const inOutage = [...during, ...loadAnswers.filter((a) => a.status !== 201)];
  const statuses = [...new Set(inOutage.map((a) => a.status))];
  t.same(statuses, [503], `every call in the outage answers 503 (seen: ${JSON.stringify(statuses)}; ${inOutage.length} calls)`);
  t.equal(inOutage.filter((a) => a.status === 500).length, 0, 'never a 500');
  t.equal(inOutage.filter((a) => a.hung).length, 0, 'never a hang');
  t.ok(inOutage.every((a) => a.code === 'SERVICE_UNAVAILABLE'), 'all coded SERVICE_UNAVAILABLE');
  t.ok(inOutage.every((a) => a.retryAfter !== null && Number(a.retryAfter) >= 1), 'all with Retry-After');
  const slowest = Math.max(...inOutage.map((a) => a.ms));
  t.ok(slowest < QUERY_BOUND_MS + SLACK_MS, `every answer within the bound (slowest ${Math.round(slowest)} ms)`);
  const waitsDuring = during.filter((a) => a.path.includes('/wait'));
  t.ok(waitsDuring.length > 0 && waitsDuring.every((a) => a.ms < 3_000 + SLACK_MS), `long-polls during the outage answer by their timeout (slowest ${Math.round(Math.max(...waitsDuring.map((a) => a.ms)))} ms)`);
  t.equal(deep.status, 503, 'deep health: 503');
  t.ok(deep.ms < 3_000 + SLACK_MS, `deep health answers within its own short timeout (${Math.round(deep.ms)} ms)`);
  t.equal(shallow.status, 200, 'liveness still answers 200: the process is alive');
  t.equal(server.child.exitCode, null, 'the server process is still running');

  // Postgres returns: the server reconnects by itself.
  pg = await startEmbeddedPostgres({ dataDir, port: pgPort });
  const backAt = performance.now();
  t.comment('postgres started again');
  let firstOk: Answer | null = null;
  for (let i = 0; !firstOk && performance.now() - backAt < 30_000; i++) {
    const a = await create(`after-${i}`);
    if (a.status === 201) {
      firstOk = a;
      acknowledged.set(`after-${i}`, (a.body as { id: string }).id);
    } else {
      t.equal(a.status, 503, `while reconnecting: 503 (${a.status})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const reconnectMs = performance.now() - backAt;
  t.ok(firstOk, 'creates succeed again');
  t.ok(reconnectMs < 8_000, `within seconds of Postgres returning (${Math.round(reconnectMs)} ms)`);
  loadRunning = false;
  await load;

  // The live hub listens again: a held long-poll is woken by a decision.
  const target = acknowledged.get('before-1')!;
  const woken = call('GET', `/api/requests/${target}/wait?timeout=60`);
  await heldWaits(base, 1, ADMIN_KEY);
  const decided = await call('POST', `/api/requests/${target}/decide`, { key: decider, body: { decision: 'approved', reason: 'after the outage' } });
  t.equal(decided.status, 200, `decide after the outage (${decided.status})`);
  const wake = await woken;
  t.equal(wake.status, 200);
  t.equal((wake.body as { status: string }).status, 'approved', 'the held long-poll receives the decision: LISTEN is back');
  t.ok(wake.ms < 30_000);

  // Nothing acknowledged was lost.
  for (const [idempotencyKey, id] of acknowledged) {
    const a = await call('GET', `/api/requests/${id}`);
    t.equal(a.status, 200, `acknowledged create ${idempotencyKey} is there`);
  }
  // A create answered 503 retries safely with its Idempotency-Key: exactly one request per key.
  const refused = loadAnswers.filter((a) => a.status === 503);
  t.ok(refused.length > 0, `some creates were refused during the outage (${refused.length})`);
  for (const a of refused) {
    const first = await create(a.idempotencyKey);
    t.ok(first.status === 201 || first.status === 200, `retry of ${a.idempotencyKey} after the outage succeeds (${first.status})`);
    const again = await create(a.idempotencyKey);
    t.equal((again.body as { id: string }).id, (first.body as { id: string }).id, 'and a second retry returns the same request');
  }
  for (const [idempotencyKey, id] of acknowledged) {
    const again = await create(idempotencyKey);
    t.equal((again.body as { id: string }).id, id, `an acknowledged create retried (${idempotencyKey}) returns the original`);
  }

  // Deep health recovers (database and worker).
  let healthy: Answer | null = null;
  const healthFrom = performance.now();
  while (performance.now() - healthFrom < 30_000) {
    healthy = await call('GET', '/health?deep=true');
    if (healthy.status === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  t.equal(healthy?.status, 200, `deep health is 200 again (${JSON.stringify(healthy?.body)})`);
  t.equal(server.child.exitCode, null, 'the server process survived the outage');
  t.notMatch(server.output(), /unhandled|INTERNAL_ERROR/i, 'no unhandled error in the log');
});
