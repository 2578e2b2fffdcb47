import t from 'tap';
import { testApp } from '../helpers/app.ts';

t.test('create, read and decide a request', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read']);
  const created = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'send_email', params: { to: 'a@b.c' } } });
  t.equal(created.statusCode, 201, created.body);
  const req = created.json();
  t.match(req, { action: 'send_email', status: 'pending', urgency: 'normal', policyDecision: { decision: 'route_to_human' } });
  const decided = await h.call('POST', `/api/requests/${req.id}/decide`, { body: { decision: 'approved', reason: 'ok' } });
  t.equal(decided.statusCode, 200, decided.body);
  t.equal(decided.json().status, 'approved');
  const again = await h.call('POST', `/api/requests/${req.id}/decide`, { body: { decision: 'denied' } });
  t.equal(again.statusCode, 409);
  t.equal(again.json().error.code, 'ALREADY_DECIDED');
  const audit = await h.call('GET', `/api/requests/${req.id}/audit`, { key: agent.key });
  t.same(audit.json().map((e: { eventType: string }) => e.eventType), ['created', 'approved']);
});
