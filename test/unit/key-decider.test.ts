import t from 'tap';
import { decideKey, evolveKey, initialKeyState, SYSTEM_GRANTOR, type KeyCommand, type KeyEvent, type KeyGrantor, type KeyState } from '../../server/src/keys/decider.ts';
import { scenario } from '../helpers/decider.ts';

const key = scenario<KeyCommand, KeyState, KeyEvent>({
  initialState: initialKeyState,
  decide: decideKey,
  evolve: (s, e) => evolveKey(s, e as { type: string; data: Record<string, unknown> }),
});

const ID = 'key_01jx0000000000000000000000';
const admin = SYSTEM_GRANTOR;
const fields = { name: 'mailer', scopes: ['request:create', 'request:read'], rateLimit: 60 };
const created: KeyEvent = { type: 'apikey.created', data: { id: ID, keyHash: 'h'.repeat(64), keyPrefix: 'agk_abcd', ...fields } };
const revoked: KeyEvent = { type: 'apikey.revoked', data: { id: ID } };
const create = (f: typeof fields | { name: string; scopes: string[]; rateLimit: number | null }, by: KeyGrantor): KeyCommand =>
  ({ type: 'create', id: ID, keyHash: 'h'.repeat(64), keyPrefix: 'agk_abcd', fields: f, by });

/** An agent key that may also manage keys: the shape that escalated before. */
const manager: KeyGrantor = { id: 'key_01jx00000000000000000manager', admin: false, scopes: ['request:create', 'request:read', 'key:manage'], rateLimit: 60 };

t.test('create records the hash and prefix, never a plaintext key', async (t) => {
  const state = key.given().when(create(fields, admin)).then(t, [created]);
  t.same(state, { id: ID, revoked: false, version: 1, scopes: fields.scopes, rateLimit: 60 });
  key.given(created).when({ ...create(fields, admin), keyHash: 'x', keyPrefix: 'agk_x' } as KeyCommand).thenError(t, 'CONCURRENCY_CONFLICT');
});

t.test('update records only the changes; no changes, no event', async (t) => {
  const state = key.given(created).when({ type: 'update', changes: { name: 'renamed', rateLimit: null }, by: admin })
    .then(t, [{ type: 'apikey.updated', data: { id: ID, name: 'renamed', rateLimit: null } }]);
  t.equal(state.version, 2);
  t.equal(state.rateLimit, null);
  key.given(created).when({ type: 'update', changes: {}, by: admin }).then(t, []);
});

t.test('revoke once; a revoked key can be neither revoked nor updated', async (t) => {
  const state = key.given(created).when({ type: 'revoke', by: admin }).then(t, [revoked]);
  t.same(state, { id: ID, revoked: true, version: 2, scopes: fields.scopes, rateLimit: 60 });
  key.given(created, revoked).when({ type: 'revoke', by: admin }).thenError(t, 'KEY_REVOKED');
  key.given(created, revoked).when({ type: 'update', changes: { name: 'x' }, by: admin }).thenError(t, 'KEY_REVOKED');
});

t.test('an unknown key is NOT_FOUND', async (t) => {
  key.given().when({ type: 'revoke', by: admin }).thenError(t, 'NOT_FOUND');
  key.given().when({ type: 'update', changes: { name: 'x' }, by: admin }).thenError(t, 'NOT_FOUND');
});

t.test('a key that is not admin grants only a subset of its own scopes', async (t) => {
  t.equal(key.given().when(create({ name: 'sub', scopes: ['request:read'], rateLimit: 10 }, manager)).events().length, 1);
  for (const scope of ['request:decide', 'policy:write', 'webhook:manage', 'audit:read']) {
    key.given().when(create({ name: 'x', scopes: ['request:read', scope], rateLimit: 10 }, manager)).thenError(t, 'KEY_ESCALATION', { scopes: [scope] });
  }
  key.given().when(create({ name: 'x', scopes: ['admin'], rateLimit: 10 }, manager)).thenError(t, 'FORBIDDEN');
  // policy:write includes policy:read, so a policy writer may hand out reading.
  const writer: KeyGrantor = { ...manager, scopes: ['policy:write', 'key:manage'] };
  t.equal(key.given().when(create({ name: 'reader', scopes: ['policy:read'], rateLimit: 5 }, writer)).events().length, 1);
});

t.test('…and a rate limit no looser than its own', async (t) => {
  key.given().when(create({ ...fields, rateLimit: 61 }, manager)).thenError(t, 'KEY_ESCALATION', { field: 'rateLimit', maximum: 60 });
  key.given().when(create({ ...fields, rateLimit: null }, manager)).thenError(t, 'KEY_ESCALATION', { field: 'rateLimit', maximum: 60 });
  t.equal(key.given().when(create({ ...fields, rateLimit: 60 }, manager)).events().length, 1);
  // An unlimited key may set any limit, or none.
  const unlimited: KeyGrantor = { ...manager, rateLimit: null };
  t.equal(key.given().when(create({ ...fields, rateLimit: null }, unlimited)).events().length, 1);
});

t.test('a key that is not admin cannot change itself, nor widen another key', async (t) => {
  const own: KeyEvent = { type: 'apikey.created', data: { id: manager.id!, keyHash: 'm'.repeat(64), keyPrefix: 'agk_mmmm', name: 'm', scopes: [...manager.scopes], rateLimit: 60 } };
  key.given(own).when({ type: 'update', changes: { scopes: ['request:decide'] }, by: manager }).thenError(t, 'FORBIDDEN');
  key.given(own).when({ type: 'update', changes: { rateLimit: 1000 }, by: manager }).thenError(t, 'FORBIDDEN');
  key.given(own).when({ type: 'update', changes: { name: 'renamed' }, by: manager }).thenError(t, 'FORBIDDEN');
  key.given(created).when({ type: 'update', changes: { scopes: ['request:decide'] }, by: manager }).thenError(t, 'KEY_ESCALATION');
  key.given(created).when({ type: 'update', changes: { rateLimit: null }, by: manager }).thenError(t, 'KEY_ESCALATION');
  key.given(created).when({ type: 'update', changes: { rateLimit: 30, scopes: ['request:read'] }, by: manager })
    .then(t, [{ type: 'apikey.updated', data: { id: ID, rateLimit: 30, scopes: ['request:read'] } }]);
  // A key that already holds more than the manager is out of its reach, even for a rename.
  const wider: KeyEvent = { type: 'apikey.created', data: { ...created.data, scopes: ['request:decide'] } } as KeyEvent;
  key.given(wider).when({ type: 'update', changes: { name: 'renamed' }, by: manager }).thenError(t, 'KEY_ESCALATION');
  // Revoking itself is allowed (it only gives power up); an admin key is out of reach.
  key.given(own).when({ type: 'revoke', by: manager }).then(t, [{ type: 'apikey.revoked', data: { id: manager.id! } }]);
  const adminKey: KeyEvent = { type: 'apikey.created', data: { ...created.data, scopes: ['admin'] } } as KeyEvent;
  key.given(adminKey).when({ type: 'revoke', by: manager }).thenError(t, 'FORBIDDEN');
  key.given(adminKey).when({ type: 'update', changes: { name: 'x' }, by: manager }).thenError(t, 'FORBIDDEN');
});
