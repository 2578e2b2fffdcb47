import t from 'tap';
import {
  decideReviewer, evolveReviewer, initialReviewerState,
  type ReviewerCommand, type ReviewerEvent, type ReviewerFields, type ReviewerState,
} from '../../server/src/reviewers/decider.ts';
import { scenario } from '../helpers/decider.ts';

const reviewer = scenario<ReviewerCommand, ReviewerState, ReviewerEvent>({ initialState: initialReviewerState, decide: decideReviewer, evolve: evolveReviewer });
const ID = 'rev_01jx0000000000000000000001';
const fields: ReviewerFields = {
  name: 'Alice', email: 'alice@example.com', slackUserId: 'U0ALICE', discordUserId: null, groups: ['oncall'],
  disabled: false, keyId: null, preferredChannel: 'slack',
};
const free = { takenBy: {}, keyUsable: true };
const created: ReviewerEvent = { type: 'reviewer.created', data: { id: ID, ...fields } };

t.test('create, update only what changes, delete', async (t) => {
  reviewer.given().when({ type: 'create', id: ID, fields, facts: free }).then(t, [created]);
  reviewer.given(created).when({ type: 'update', changes: { name: 'Alice', disabled: true }, facts: free })
    .then(t, [{ type: 'reviewer.updated', data: { id: ID, disabled: true } }]);
  reviewer.given(created).when({ type: 'update', changes: { groups: ['oncall'] }, facts: free }).then(t, [], 'no change, no event');
  reviewer.given(created).when({ type: 'delete' }).then(t, [{ type: 'reviewer.deleted', data: { id: ID } }]);
  reviewer.given(created, { type: 'reviewer.deleted', data: { id: ID } }).when({ type: 'delete' }).thenError(t, 'NOT_FOUND');
});

t.test('an identity held by another reviewer is refused', async (t) => {
  reviewer.given().when({ type: 'create', id: ID, fields, facts: { takenBy: { slackUserId: 'rev_other' }, keyUsable: true } })
    .thenError(t, 'DUPLICATE_IDENTITY', [{ field: 'body.slackUserId' }]);
});

t.test('a linked key must be active; a preferred channel needs its identity', async (t) => {
  reviewer.given().when({ type: 'create', id: ID, fields: { ...fields, keyId: 'key_x' }, facts: { takenBy: {}, keyUsable: false } })
    .thenError(t, 'VALIDATION_ERROR');
  reviewer.given(created).when({ type: 'update', changes: { slackUserId: null }, facts: free })
    .thenError(t, 'VALIDATION_ERROR', [{ field: 'body.preferredChannel' }]);
});
