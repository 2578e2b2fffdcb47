import t from 'tap';
import {
  decideOverride, evolveOverride, initialOverrideState, type OverrideCommand, type OverrideEvent, type OverrideFields, type OverrideState,
} from '../../server/src/overrides/decider.ts';
import { applyOverride, compileOverrides, type ActiveOverride } from '../../server/src/overrides/engine.ts';
import type { Evaluation } from '../../server/src/policies/engine.ts';
import { scenario } from '../helpers/decider.ts';

const now = new Date('2026-06-01T12:00:00.000Z');
const fields: OverrideFields = { action: 'deploy_*', agentKeyId: null, decision: 'route_to_human', reason: 'freeze', expiresAt: null };

const overrides = scenario<OverrideCommand, OverrideState, OverrideEvent>({
  initialState: initialOverrideState,
  decide: decideOverride,
  evolve: (s, e) => evolveOverride(s, e as { type: string; data: Record<string, unknown> }),
});
const created: OverrideEvent = { type: 'override.created', data: { id: 'ovr_1', ...fields } };
const removed: OverrideEvent = { type: 'override.removed', data: { id: 'ovr_1' } };

t.test('create, then remove; removing again, or what never was, is NOT_FOUND', async (t) => {
  overrides.given().when({ type: 'create', id: 'ovr_1', fields, now }).then(t, [created]);
  overrides.given(created).when({ type: 'remove' }).then(t, [removed]);
  overrides.given(created, removed).when({ type: 'remove' }).thenError(t, 'NOT_FOUND');
  overrides.given().when({ type: 'remove' }).thenError(t, 'NOT_FOUND');
});

t.test('refuses a past expiry, an empty glob or reason', async (t) => {
  const create = (f: Partial<OverrideFields>) => overrides.given().when({ type: 'create', id: 'ovr_1', fields: { ...fields, ...f }, now });
  create({ expiresAt: '2026-06-01T11:59:59.000Z' }).thenError(t, 'VALIDATION_ERROR');
  create({ action: '  ' }).thenError(t, 'VALIDATION_ERROR');
  create({ reason: '' }).thenError(t, 'VALIDATION_ERROR');
  create({ expiresAt: '2026-06-01T12:00:01.000Z' }).then(t, [{ type: 'override.created', data: { id: 'ovr_1', ...fields, expiresAt: '2026-06-01T12:00:01.000Z' } }]);
});

const override = (o: Partial<ActiveOverride>): ActiveOverride => ({
  id: 'ovr_1', action: 'deploy_*', agentKeyId: null, decision: 'route_to_human', reason: 'freeze', expiresAt: null, ...o,
});
const evaluation = (decision: Evaluation['decision'], extra: Partial<Evaluation> = {}): Evaluation => ({
  decision, policyId: 'pol_1', policyVersion: 1, policyName: 'p', ruleIndex: 0, approvers: ['key_a'], channels: ['slack:#ops'],
  requireReason: false, requireDistinctApprover: false, reason: 'policy p', ...extra,
});

t.test('matching: glob, key, expiry; a deny wins, else the oldest', async (t) => {
  const set = compileOverrides([
    override({ id: 'ovr_2', action: 'deploy_db', agentKeyId: 'key_x', decision: 'auto_deny', reason: 'broke prod' }),
    override({ id: 'ovr_1' }),
    override({ id: 'ovr_3', action: 'rm_?', expiresAt: new Date('2026-06-01T12:00:00.000Z') }),
  ]);
  t.equal(set.match({ action: 'deploy_db', keyId: 'key_x' }, now)?.id, 'ovr_2', 'the deny for this key');
  t.equal(set.match({ action: 'deploy_db', keyId: 'key_y' }, now)?.id, 'ovr_1', 'another key: the hold');
  t.equal(set.match({ action: 'read', keyId: 'key_x' }, now), null);
  t.equal(set.match({ action: 'rm_x', keyId: 'key_x' }, new Date('2026-06-01T11:59:59.999Z'))?.id, 'ovr_3', 'before its expiry');
  t.equal(set.match({ action: 'rm_x', keyId: 'key_x' }, now), null, 'at its expiry it no longer applies');
});

t.test('an override only tightens the policies\' conclusion', async (t) => {
  const hold = override({});
  const deny = override({ decision: 'auto_deny' });
  t.match(applyOverride(evaluation('auto_approve'), hold), { decision: 'route_to_human', overrideId: 'ovr_1', approvers: [], reason: /freeze/ });
  t.same(applyOverride(evaluation('auto_deny'), hold), evaluation('auto_deny'), 'a denial stays a denial');
  t.same(applyOverride(evaluation('route_to_human'), hold), evaluation('route_to_human'), 'a policy\'s routing (approvers, channels) stays');
  t.match(applyOverride(evaluation('auto_approve'), deny), { decision: 'auto_deny', policyId: null, overrideId: 'ovr_1' });
  t.same(applyOverride(evaluation('auto_approve'), null), evaluation('auto_approve'));
});
