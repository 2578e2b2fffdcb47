import t, { type Test } from 'tap';
import { AppError } from '../../server/src/errors.ts';
import {
  decidePolicy,
  evolvePolicy,
  initialPolicyState,
  type PolicyCommand,
  type PolicyEvent,
  type PolicyFields,
  type PolicyState,
} from '../../server/src/policies/decider.ts';

const ID = 'pol_01jabcdefghjkmnpqrstvwxyz0';

const fields = (overrides: Partial<PolicyFields> = {}): PolicyFields => ({
  name: 'auto-approve-emails',
  description: null,
  priority: 10,
  enabled: true,
  rules: [{ match: { action: 'send_email' }, decision: 'auto_approve' }],
  ...overrides,
});

/** Folds events as the command runner does: each stored event gets the next version. */
function given(...events: PolicyEvent[]): PolicyState {
  return events.reduce<PolicyState>((s, e) => evolvePolicy(s, { type: e.type, data: e.data as Record<string, unknown> }), initialPolicyState());
}

const created = (f: PolicyFields = fields()): PolicyEvent => ({ type: 'policy.created', data: { id: ID, ...f } });
const updated = (f: PolicyFields): PolicyEvent => ({ type: 'policy.updated', data: { id: ID, ...f } });
const deleted: PolicyEvent = { type: 'policy.deleted', data: { id: ID } };

function refusal(t: Test, command: PolicyCommand, state: PolicyState): AppError {
  try {
    decidePolicy(command, state);
  } catch (err) {
    t.type(err, AppError);
    return err as AppError;
  }
  t.fail('expected the command to be refused');
  throw new Error('not refused');
}

t.test('create on an empty stream records the full policy', async (t) => {
  const events = decidePolicy({ type: 'create', id: ID, fields: fields({ description: 'mail' }) }, given());
  t.same(events, [{
    type: 'policy.created',
    data: { id: ID, name: 'auto-approve-emails', description: 'mail', priority: 10, enabled: true, rules: [{ match: { action: 'send_email' }, decision: 'auto_approve' }] },
  }]);
});

t.test('create on an existing stream is a conflict', async (t) => {
  const err = refusal(t, { type: 'create', id: ID, fields: fields() }, given(created()));
  t.equal(err.code, 'CONCURRENCY_CONFLICT');
});

t.test('create with invalid rules is refused with every problem path', async (t) => {
  const err = refusal(t, {
    type: 'create', id: ID,
    fields: fields({
      rules: [
        { match: { 'params.to': { $regex: '(a)\\1' } }, decision: 'auto_approve' },
        { match: { amount: { $near: 3 } }, decision: 'maybe' },
      ] as never,
    }),
  }, given());
  t.equal(err.code, 'INVALID_POLICY');
  t.equal(err.status, 400);
  const paths = (err.details as { field: string }[]).map((d) => d.field);
  t.same(paths.sort(), [
    'body.rules[0].match.params.to.$regex',
    'body.rules[1].decision',
    'body.rules[1].match.amount.$near',
  ].sort());
  t.match(err.message, /backreferences and lookarounds are not allowed/);
});

t.test('a lookahead is an unsafe pattern', async (t) => {
  const err = refusal(t, { type: 'create', id: ID, fields: fields({ rules: [{ match: { action: { $regex: '^(?=send)' } }, decision: 'auto_deny' }] }) }, given());
  t.equal(err.code, 'INVALID_POLICY');
  t.match(err.details, [{ field: 'body.rules[0].match.action.$regex' }]);
});

t.test('a blank name or a fractional priority is refused even without the HTTP schema', async (t) => {
  const err = refusal(t, { type: 'create', id: ID, fields: fields({ name: '  ', priority: 1.5 }) }, given());
  t.equal(err.code, 'INVALID_POLICY');
  t.same((err.details as { field: string }[]).map((d) => d.field), ['body.name', 'body.priority']);
});

t.test('update records the whole new policy and bumps the version', async (t) => {
  const state = given(created());
  t.equal(state.version, 1);
  const next = fields({ priority: 5, enabled: false, description: 'off for now' });
  const events = decidePolicy({ type: 'update', fields: next }, state);
  t.same(events, [{ type: 'policy.updated', data: { id: ID, ...next } }]);
  const after = given(created(), ...events);
  t.equal(after.version, 2);
  t.same(after.fields, next);
});

t.test('an update identical to the current policy changes nothing', async (t) => {
  const state = given(created(fields({ rules: [{ match: { amount: { $lt: 100, $gt: 0 } }, decision: 'auto_approve' }] })));
  // same rules with keys in another order
  const events = decidePolicy({ type: 'update', fields: fields({ rules: [{ decision: 'auto_approve', match: { amount: { $gt: 0, $lt: 100 } } }] }) }, state);
  t.same(events, []);
});

t.test('update with invalid rules is refused', async (t) => {
  const err = refusal(t, { type: 'update', fields: fields({ rules: [{ match: { x: { $bogus: 1 } }, decision: 'auto_approve' }] as never }) }, given(created()));
  t.equal(err.code, 'INVALID_POLICY');
});

t.test('delete records the id', async (t) => {
  t.same(decidePolicy({ type: 'delete' }, given(created())), [{ type: 'policy.deleted', data: { id: ID } }]);
});

t.test('update or delete of a missing policy is NOT_FOUND', async (t) => {
  t.equal(refusal(t, { type: 'update', fields: fields() }, given()).code, 'NOT_FOUND');
  t.equal(refusal(t, { type: 'delete' }, given()).code, 'NOT_FOUND');
});

t.test('update or delete of a deleted policy is NOT_FOUND', async (t) => {
  const state = given(created(), updated(fields({ priority: 1 })), deleted);
  t.equal(state.version, 3);
  t.ok(state.deleted);
  t.equal(refusal(t, { type: 'update', fields: fields() }, state).code, 'NOT_FOUND');
  t.equal(refusal(t, { type: 'delete' }, state).code, 'NOT_FOUND');
});
