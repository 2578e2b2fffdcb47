/**
 * A create is one `request.created` carrying the policy outcome and any automatic decision.
 * Logs written before hold three events for the same fact (request.created,
 * request.policy_evaluated, request.approved/denied): they must still read and rebuild
 * exactly, and read the same as the new shape through the API.
 */
import t from 'tap';
import { rebuildProjections } from '../../server/src/db/migrate.ts';
import { append } from '../../server/src/events/store.ts';
import type { EventMetadata, NewEvent } from '../../server/src/events/types.ts';
import type { PolicyOutcome } from '../../server/src/requests/decider.ts';
import { testApp, type TestApp } from '../helpers/app.ts';
import { projectionTableNames, snapshot, tamper } from '../helpers/projections.ts';

type ApiRequest = Record<string, unknown> & { id: string; status: string };

/** What the previous writer appended for one create, in one transaction. */
async function appendOldShapeCreate(h: TestApp, id: string, requester: { id: string; name: string }, action: string, outcome: PolicyOutcome) {
  const metadata: EventMetadata = { actor: { type: 'key', ...requester }, channel: 'api' };
  const events: NewEvent[] = [
    { type: 'request.created', data: { id, action, params: { n: 1 }, context: {}, urgency: 'normal', expiresAt: null, requester } },
    { type: 'request.policy_evaluated', data: outcome },
  ];
  if (outcome.decision !== 'route_to_human') {
    events.push({
      type: outcome.decision === 'auto_approve' ? 'request.approved' : 'request.denied',
      data: { decider: { type: 'policy', id: outcome.policyId, name: `policy:${outcome.policyName}` }, label: null, reason: outcome.reason },
    });
  }
  await h.sql.begin((tx) => append(tx, { streamId: `request-${id}`, streamType: 'request', expectedVersion: 0, events, metadata }));
}

/** The API view without what necessarily differs between two requests (identity and times). */
const comparable = (r: ApiRequest) => {
  const { id: _id, createdAt: _c, updatedAt: _u, decidedAt: _d, ...rest } = r;
  return rest;
};

t.test('an old-shape log reads like the new shape and rebuilds identically', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create', 'request:read'], { name: 'agent' });
  const requester = { id: agent.id, name: 'agent' };
  const policy = (await h.call('POST', '/api/policies', {
    body: { name: 'reads are fine', priority: 10, rules: [{ match: { action: 'read_file' }, decision: 'auto_approve' }] },
  })).json() as { id: string };
  const ask = async (action: string) => (await h.call('POST', '/api/requests', { key: agent.key, body: { action, params: { n: 1 } } })).json() as ApiRequest;

  // The same two facts, written now (one event each) ...
  const autoNow = await ask('read_file');
  const routedNow = await ask('send_email');
  t.equal(autoNow.status, 'approved');
  t.equal(routedNow.status, 'pending');
  const created = await h.sql<{ type: string; data: Record<string, unknown> }[]>`
    select type, data from events where stream_id = ${`request-${autoNow.id}`} order by version`;
  t.same(created.map((e) => e.type), ['request.created'], 'a create appends one event');

  // ... and as the previous writer recorded them.
  const autoOld = 'req_01jx0000000000000000000001';
  const routedOld = 'req_01jx0000000000000000000002';
  await appendOldShapeCreate(h, autoOld, requester, 'read_file', autoNow.policyDecision as PolicyOutcome);
  await appendOldShapeCreate(h, routedOld, requester, 'send_email', routedNow.policyDecision as PolicyOutcome);
  const get = async (id: string) => (await h.call('GET', `/api/requests/${id}`)).json() as ApiRequest;
  t.same(comparable(await get(autoOld)), comparable(autoNow), 'an old auto-approval reads as the new one');
  t.same(comparable(await get(routedOld)), comparable(routedNow), 'an old routed request reads as the new one');

  // Old streams keep working: decided now, after their three events.
  const decided = await h.call('POST', `/api/requests/${routedOld}/decide`, { body: { decision: 'denied', reason: 'no' } });
  t.equal(decided.statusCode, 200, decided.body);
  t.equal((await h.call('POST', `/api/requests/${autoOld}/decide`, { body: { decision: 'denied' } })).json().error.code, 'ALREADY_DECIDED');
  const oldAudit = (await h.call('GET', `/api/requests/${autoOld}/audit`)).json() as { eventType: string; event: string; actor: string }[];
  t.same(oldAudit.map((e) => e.eventType), ['created', 'policy_evaluated', 'approved'], 'old entries stay as they were written');
  // The new shape records the policy's decision inside request.created: it is still an entry of its own.
  const newAudit = (await h.call('GET', `/api/requests/${autoNow.id}/audit`)).json() as typeof oldAudit;
  t.same(newAudit.map((e) => [e.eventType, e.event]), [['created', 'request.created'], ['approved', 'request.approved']], 'a new auto-approval: created, then approved');
  t.equal(newAudit[1]!.actor, oldAudit[2]!.actor, 'by the policy, as the old decision event reads');
  t.equal(newAudit[0]!.actor, oldAudit[0]!.actor, 'created by the key');

  const tables = projectionTableNames();
  const live = await snapshot(h.sql, tables);
  await tamper(h.sql, tables);
  await rebuildProjections(h.sql);
  t.same(await snapshot(h.sql, tables), live, 'both shapes rebuild to the same rows');
  t.same(comparable(await get(autoOld)), comparable(autoNow), 'and still read alike');
  t.equal(policy.id, (autoNow.policyDecision as PolicyOutcome).policyId);
});
