import t from 'tap';
import { decideKey, evolveKey, initialKeyState, type KeyCommand, type KeyEvent, type KeyState } from '../../server/src/keys/decider.ts';
import { scenario } from '../helpers/decider.ts';

const key = scenario<KeyCommand, KeyState, KeyEvent>({
  initialState: initialKeyState,
  decide: decideKey,
  evolve: (s, e) => evolveKey(s, e as { type: string; data: Record<string, unknown> }),
});

const ID = 'key_01jx0000000000000000000000';
const fields = { name: 'mailer', scopes: ['request:create', 'request:read'], rateLimit: 60 };
const created: KeyEvent = { type: 'apikey.created', data: { id: ID, keyHash: 'h'.repeat(64), keyPrefix: 'agk_abcd', ...fields } };
const revoked: KeyEvent = { type: 'apikey.revoked', data: { id: ID } };

t.test('create records the hash and prefix, never a plaintext key', async (t) => {
  const state = key.given().when({ type: 'create', id: ID, keyHash: 'h'.repeat(64), keyPrefix: 'agk_abcd', fields }).then(t, [created]);
  t.same(state, { id: ID, revoked: false, version: 1 });
  key.given(created).when({ type: 'create', id: ID, keyHash: 'x', keyPrefix: 'agk_x', fields }).thenError(t, 'CONCURRENCY_CONFLICT');
});

t.test('update records only the changes; no changes, no event', async (t) => {
  const state = key.given(created).when({ type: 'update', changes: { name: 'renamed', rateLimit: null } })
    .then(t, [{ type: 'apikey.updated', data: { id: ID, name: 'renamed', rateLimit: null } }]);
  t.equal(state.version, 2);
  key.given(created).when({ type: 'update', changes: {} }).then(t, []);
});

t.test('revoke once; a revoked key can be neither revoked nor updated', async (t) => {
  const state = key.given(created).when({ type: 'revoke' }).then(t, [revoked]);
  t.same(state, { id: ID, revoked: true, version: 2 });
  key.given(created, revoked).when({ type: 'revoke' }).thenError(t, 'KEY_REVOKED');
  key.given(created, revoked).when({ type: 'update', changes: { name: 'x' } }).thenError(t, 'KEY_REVOKED');
});

t.test('an unknown key is NOT_FOUND', async (t) => {
  key.given().when({ type: 'revoke' }).thenError(t, 'NOT_FOUND');
  key.given().when({ type: 'update', changes: { name: 'x' } }).thenError(t, 'NOT_FOUND');
});
