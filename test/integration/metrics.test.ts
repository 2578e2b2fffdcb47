/**
 * GET /metrics (Prometheus text, not public), GET /ready and GET /live. Counters are
 * process-wide, so every assertion compares a value before and after the action.
 */
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { testApp, type TestApp } from '../helpers/app.ts';
import type { Live } from '../../server/src/live/live.ts';

const TOKEN = 'metrics-token-0123456789';

/** The value of one sample, e.g. metric(text, 'agentgate_requests_created_total', { channel: 'cli' }); 0 when absent. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).match(/^\{(.*)\}/)?.[1] ?? '';
    const has = Object.entries(labels).every(([k, v]) => labelText.split(/,(?=\w+=")/).includes(`${k}="${v}"`));
    if (has) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

async function scrape(h: TestApp): Promise<string> {
  const res = await h.call('GET', '/metrics', { key: TOKEN });
  if (res.statusCode !== 200) throw new Error(`metrics: ${res.statusCode} ${res.body}`);
  return res.body;
}

t.test('/metrics is not public: METRICS_TOKEN or an admin key', async (t) => {
  const h = await testApp(t, { metricsToken: TOKEN });
  t.equal((await h.call('GET', '/metrics', { key: null })).statusCode, 401, 'no credentials');
  t.equal((await h.call('GET', '/metrics', { key: 'metrics-token-wrong-456789' })).statusCode, 401, 'a wrong token');
  const reader = await h.key(['request:read']);
  const forbidden = await h.call('GET', '/metrics', { key: reader.key });
  t.equal(forbidden.statusCode, 403, 'a key without admin');
  t.equal(forbidden.json().error.code, 'FORBIDDEN');
  const byToken = await h.call('GET', '/metrics', { key: TOKEN });
  t.equal(byToken.statusCode, 200);
  t.match(byToken.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  t.equal((await h.call('GET', '/metrics')).statusCode, 200, 'an admin key');
  // Without METRICS_TOKEN the token is just a wrong key.
  const noToken = await testApp(t);
  t.equal((await noToken.call('GET', '/metrics', { key: TOKEN })).statusCode, 401);
});

t.test('requests created and decided, by channel and outcome, with the decision latency and pending count', async (t) => {
  const h = await testApp(t, { metricsToken: TOKEN });
  const before = await scrape(h);
  const created = await h.call('POST', '/api/requests', { body: { action: 'pay' }, headers: { 'x-agentgate-channel': 'cli' } });
  t.equal(created.statusCode, 201);
  const other = await h.call('POST', '/api/requests', { body: { action: 'pay' } });
  const approved = await h.call('POST', `/api/requests/${created.json().id}/decide`, { body: { decision: 'approved' }, headers: { 'x-agentgate-channel': 'mcp' } });
  t.equal(approved.statusCode, 200, approved.body);
  const policy = await h.call('POST', '/api/policies', { body: { name: 'reads', priority: 1, enabled: true, rules: [{ match: { action: 'read' }, decision: 'auto_approve' }] } });
  t.equal(policy.statusCode, 201, policy.body);
  const auto = await h.call('POST', '/api/requests', { body: { action: 'read' } });
  t.equal(auto.json().status, 'approved', 'decided by the policy as it was created');
  const after = await scrape(h);
  const delta = (name: string, labels: Record<string, string> = {}) => metric(after, name, labels) - metric(before, name, labels);
  t.equal(delta('agentgate_requests_created_total', { channel: 'cli' }), 1, 'created from the CLI');
  t.equal(delta('agentgate_requests_created_total', { channel: 'api' }), 2, 'created through the API (one decided at once by a policy)');
  t.equal(delta('agentgate_requests_decided_total', { outcome: 'approved', channel: 'mcp', decider: 'key' }), 1, 'approved from MCP by a key');
  t.equal(delta('agentgate_request_decision_seconds_count', { outcome: 'approved', decider: 'key' }), 1, 'its latency observed');
  t.equal(delta('agentgate_requests_decided_total', { outcome: 'approved', channel: 'api', decider: 'policy' }), 1, 'a policy\'s decision at creation counts as a decision');
  const [row] = await h.sql<{ pending: number }[]>`select count(*)::int as pending from requests where status = 'pending'`;
  t.equal(row?.pending, 1, other.json().id);
  t.equal(metric(after, 'agentgate_requests_pending'), 1, 'pending, read from the database');
  t.equal(delta('agentgate_http_requests_total', { method: 'POST', route: '/api/requests', status_code: '201' }), 3, 'HTTP by route pattern');
  t.equal(delta('agentgate_http_requests_total', { method: 'POST', route: '/api/requests/:id/decide', status_code: '200' }), 1, 'ids stay out of the labels');
  t.ok(metric(after, 'agentgate_http_request_duration_seconds_count', { method: 'POST', route: '/api/requests', status_code: '201' }) >= 2);
  t.equal(metric(after, 'agentgate_db_up'), 1);
  t.ok(metric(after, 'agentgate_job_queue_depth') >= 0 && after.includes('agentgate_job_queue_oldest_age_seconds'), 'job queue gauges');
  t.ok(metric(after, 'agentgate_db_connections', { state: 'idle' }) + metric(after, 'agentgate_db_connections', { state: 'active' }) >= 1, 'connections by state');
  t.equal(metric(after, 'agentgate_live_listen_up'), 1);
  t.ok(after.includes('agentgate_process_cpu_seconds_total'), 'process metrics');
  // The hub reads after the commit's NOTIFY: wait for it to hand the new events on.
  const lagged = async () => metric(await scrape(h), 'agentgate_live_hub_lag_seconds_count') >= metric(before, 'agentgate_live_hub_lag_seconds_count') + 3;
  let seen = await lagged();
  for (let i = 0; !seen && i < 500; i++) seen = await lagged();
  t.ok(seen, 'the hub handed the new events on, each with its lag');
});

t.test('open long-polls are counted while they are held', async (t) => {
  const h = await testApp(t, { metricsToken: TOKEN });
  const { id } = (await h.call('POST', '/api/requests', { body: { action: 'wait_for_me' } })).json() as { id: string };
  const base = metric(await scrape(h), 'agentgate_live_connections', { kind: 'longpoll' });
  const poll = h.call('GET', `/api/requests/${id}/wait?timeout=30`);
  const live = (h.app as FastifyInstance & { live: Live }).live;
  for (let i = 0; live.watchCount === 0 && i < 2000; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(metric(await scrape(h), 'agentgate_live_connections', { kind: 'longpoll' }), base + 1, 'one held');
  await h.call('POST', `/api/requests/${id}/decide`, { body: { decision: 'denied' } });
  t.equal((await poll).json().status, 'denied');
  t.equal(metric(await scrape(h), 'agentgate_live_connections', { kind: 'longpoll' }), base, 'released');
});

t.test('/live answers; /ready is 200 only with the database, migrations and LISTEN in place', async (t) => {
  const h = await testApp(t);
  const live = await h.call('GET', '/live', { key: null });
  t.equal(live.statusCode, 200);
  const ready = await h.call('GET', '/ready', { key: null });
  t.equal(ready.statusCode, 200, ready.body);
  t.same(ready.json(), { status: 'ready', checks: { database: 'ok', migrations: 'ok', listen: 'ok' } });

  // A migration file not applied yet (a new image on an old database) is not ready.
  await h.sql`delete from schema_migrations where version = (select max(version) from schema_migrations)`;
  const unmigrated = await h.call('GET', '/ready', { key: null });
  t.equal(unmigrated.statusCode, 503);
  t.match(unmigrated.json(), { status: 'not ready', checks: { migrations: '1 not applied' } });

  // The hub stopped listening: this process would miss live updates.
  const own = await testApp(t);
  await (own.app as FastifyInstance & { live: Live }).live.stop();
  const noListen = await own.call('GET', '/ready', { key: null });
  t.equal(noListen.statusCode, 503);
  t.match(noListen.json(), { checks: { listen: 'down', database: 'ok' } });
});
