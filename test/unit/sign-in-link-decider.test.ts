import t from 'tap';
import { decideSignIn, evolveSignIn, initialSignInState, SIGN_IN_LINK_TTL_MS, type SignInState } from '../../server/src/sessions/sign-in-link-decider.ts';

const now = new Date('2026-01-01T12:00:00Z');
const fold = (events: { type: string; data: Record<string, unknown> }[]): SignInState => events.reduce(evolveSignIn, initialSignInState());
const alice = { type: 'reviewer.created', data: { id: 'rev_1', name: 'Alice', email: 'alice@example.com', disabled: false } };

t.test('a link is issued only to an enabled reviewer with an address, for 15 minutes', async (t) => {
  const [issued] = decideSignIn({ type: 'issue', linkId: 'lnk_1', tokenHash: 'h', now }, fold([alice]));
  t.same(issued, { type: 'reviewer.sign_in_link_issued', data: { linkId: 'lnk_1', email: 'alice@example.com', tokenHash: 'h', expiresAt: new Date(now.getTime() + SIGN_IN_LINK_TTL_MS).toISOString() } });
  t.same(decideSignIn({ type: 'issue', linkId: 'lnk_1', tokenHash: 'h', now }, fold([alice, { type: 'reviewer.updated', data: { id: 'rev_1', disabled: true } }])), []);
  t.same(decideSignIn({ type: 'issue', linkId: 'lnk_1', tokenHash: 'h', now }, fold([alice, { type: 'reviewer.updated', data: { id: 'rev_1', email: null } }])), []);
  t.same(decideSignIn({ type: 'issue', linkId: 'lnk_1', tokenHash: 'h', now }, fold([alice, { type: 'reviewer.deleted', data: { id: 'rev_1' } }])), []);
  t.same(decideSignIn({ type: 'issue', linkId: 'lnk_1', tokenHash: 'h', now }, initialSignInState()), []);
});

t.test('a link is used once, before it expires, by the reviewer still at that address', async (t) => {
  const [issued] = decideSignIn({ type: 'issue', linkId: 'lnk_1', tokenHash: 'h', now }, fold([alice]));
  const state = fold([alice, issued!]);
  const use = (s: SignInState, at = now) => () => decideSignIn({ type: 'use', linkId: 'lnk_1', sessionId: 'ses_1', now: at }, s);
  const [used] = use(state)();
  t.same(used, { type: 'reviewer.signed_in', data: { linkId: 'lnk_1', sessionId: 'ses_1', via: 'email_link' } });
  t.throws(use(evolveSignIn(state, used!)), { code: 'LINK_GONE' }, 'used already');
  t.throws(use(state, new Date(now.getTime() + SIGN_IN_LINK_TTL_MS)), { code: 'LINK_GONE' }, 'expired');
  t.throws(use(evolveSignIn(state, { type: 'reviewer.updated', data: { disabled: true } })), { code: 'LINK_GONE' }, 'disabled since');
  t.throws(use(evolveSignIn(state, { type: 'reviewer.updated', data: { email: 'a@elsewhere.example' } })), { code: 'LINK_GONE' }, 'moved address');
  t.throws(() => decideSignIn({ type: 'use', linkId: 'lnk_2', sessionId: 'ses_1', now }, state), { code: 'LINK_GONE' }, 'unknown link');
});
