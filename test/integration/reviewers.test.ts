/**
 * The reviewer directory through the API, and the approvers that name its people: a key
 * linked to a reviewer decides as that person, with their groups.
 */
import t from 'tap';
import { testApp, type TestApp } from '../helpers/app.ts';

async function routeAllTo(h: TestApp, rule: Record<string, unknown>) {
  const res = await h.call('POST', '/api/policies', {
    body: { name: `route ${Math.random()}`, priority: 1, rules: [{ match: { action: 'deploy' }, decision: 'route_to_human', ...rule }] },
  });
  if (res.statusCode !== 201) throw new Error(res.body);
}

t.test('create, read, change, delete; identities stay unique', async (t) => {
  const h = await testApp(t);
  const manager = await h.key(['reviewer:manage']);
  const res = await h.call('POST', '/api/reviewers', {
    key: manager.key,
    body: { name: ' Alice ', email: 'Alice@Example.com', slackUserId: 'U0ALICE', groups: ['oncall'], preferredChannel: 'slack' },
  });
  t.equal(res.statusCode, 201, res.body);
  const alice = res.json();
  t.match(alice, { id: /^rev_[0-9a-z]{26}$/, name: 'Alice', email: 'alice@example.com', slackUserId: 'U0ALICE', groups: ['oncall'], disabled: false, keyId: null });
  const [stream] = await h.sql`select stream_id, type from events where stream_id = ${`reviewer-${alice.id}`}`;
  t.same(stream, { stream_id: `reviewer-${alice.id}`, type: 'reviewer.created' }, 'an event on the reviewer-<id> stream');

  const dup = await h.call('POST', '/api/reviewers', { key: manager.key, body: { name: 'Mallory', email: 'ALICE@example.com' } });
  t.equal(dup.statusCode, 409);
  t.equal(dup.json().error.code, 'DUPLICATE_IDENTITY');
  const badPref = await h.call('POST', '/api/reviewers', { key: manager.key, body: { name: 'Carol', preferredChannel: 'discord' } });
  t.equal(badPref.statusCode, 400, 'a preferred channel without its identity');

  const listed = (await h.call('GET', '/api/reviewers?group=oncall', { key: manager.key })).json();
  t.same(listed.reviewers.map((r: { id: string }) => r.id), [alice.id]);
  const patched = await h.call('PATCH', `/api/reviewers/${alice.id}`, { key: manager.key, body: { disabled: true, groups: ['oncall', 'db'] } });
  t.equal(patched.statusCode, 200, patched.body);
  t.match(patched.json(), { disabled: true, groups: ['oncall', 'db'] });

  const noScope = await h.key(['request:read']);
  t.equal((await h.call('GET', '/api/reviewers', { key: noScope.key })).statusCode, 403);

  t.equal((await h.call('DELETE', `/api/reviewers/${alice.id}`, { key: manager.key })).statusCode, 200);
  t.equal((await h.call('GET', `/api/reviewers/${alice.id}`, { key: manager.key })).statusCode, 404);
  const again = await h.call('POST', '/api/reviewers', { key: manager.key, body: { name: 'Alice 2', email: 'alice@example.com' } });
  t.equal(again.statusCode, 201, 'a deleted reviewer frees their identities');
});

t.test('approvers name reviewers and groups; a linked key decides as its reviewer', async (t) => {
  const h = await testApp(t);
  const agent = await h.key(['request:create']);
  const aliceKey = await h.key(['request:decide'], { name: 'alice laptop' });
  const bobKey = await h.key(['request:decide'], { name: 'bob laptop' });
  const alice = (await h.call('POST', '/api/reviewers', { body: { name: 'Alice', groups: ['oncall'], keyId: aliceKey.id } })).json();
  await h.call('POST', '/api/reviewers', { body: { name: 'Bob', groups: ['finance'], keyId: bobKey.id } });
  await routeAllTo(h, { approvers: ['group:oncall'] });

  const create = async () => (await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy' } })).json().id as string;
  const id = await create();
  const bobTry = await h.call('POST', `/api/requests/${id}/decide`, { key: bobKey.key, body: { decision: 'approved' } });
  t.equal(bobTry.statusCode, 403, "Bob's key: Bob is not in group oncall");
  t.equal(bobTry.json().error.code, 'NOT_AN_APPROVER');
  const aliceTry = await h.call('POST', `/api/requests/${id}/decide`, { key: aliceKey.key, body: { decision: 'approved' } });
  t.equal(aliceTry.statusCode, 200, aliceTry.body);
  t.same(aliceTry.json().decider, { type: 'reviewer', id: alice.id, name: 'Alice', keyId: aliceKey.id }, 'recorded as Alice, with her key');
  const audit = (await h.call('GET', `/api/requests/${id}/audit`)).json();
  t.match(audit.at(-1), { eventType: 'approved', actor: 'reviewer:Alice', actorInfo: { type: 'reviewer', id: alice.id, name: 'Alice', keyId: aliceKey.id } });

  // Disabled, Alice's key is only a key again: not in the group.
  await h.call('PATCH', `/api/reviewers/${alice.id}`, { body: { disabled: true } });
  const id2 = await create();
  const disabledTry = await h.call('POST', `/api/requests/${id2}/decide`, { key: aliceKey.key, body: { decision: 'approved' } });
  t.equal(disabledTry.json().error?.code, 'NOT_AN_APPROVER');
});

t.test('policies accept reviewer ids, groups and channel destinations, and refuse the malformed', async (t) => {
  const h = await testApp(t);
  const ok = await h.call('POST', '/api/policies', {
    body: {
      name: 'people', rules: [{
        match: { action: 'x' }, decision: 'route_to_human',
        approvers: ['rev_01jx0000000000000000000000', 'group:oncall', 'key_01jx0000000000000000000000'],
        channels: ['slack:#approvals', 'slack:C0123ABC', 'discord:123456789012345678', 'email:ops@example.com', 'group:oncall', 'slack'],
      }],
    },
  });
  t.equal(ok.statusCode, 201, ok.body);
  const bad = await h.call('POST', '/api/policies', {
    body: { name: 'bad', rules: [{ match: { action: 'x' }, decision: 'route_to_human', approvers: ['group:'], channels: ['teams:#x'] }] },
  });
  t.equal(bad.statusCode, 400);
  t.match(bad.json().error.details, [{ field: 'body.rules[0].approvers[0]' }, { field: 'body.rules[0].channels[0]' }]);
});
