import t from 'tap';
import {
  decideWebhook, evolveWebhook, initialWebhookState, retryDelayMs,
  type AttemptOutcome, type WebhookCommand, type WebhookEvent, type WebhookFields, type WebhookState,
} from '../../server/src/webhooks/decider.ts';
import { scenario } from '../helpers/decider.ts';

const webhook = scenario<WebhookCommand, WebhookState, WebhookEvent>({
  initialState: initialWebhookState,
  decide: decideWebhook,
  evolve: (s, e) => evolveWebhook(s, e as { type: string; data: Record<string, unknown> }),
});

const ID = 'whk_01jx0000000000000000000000';
const DLV = 'dlv_01jx0000000000000000000000';
const fields: WebhookFields = {
  url: 'https://hooks.example.com/agentgate', events: ['request.created', 'request.decided'],
  secret: 's'.repeat(32), description: null, enabled: true, maxAttempts: 3,
};
const created: WebhookEvent = { type: 'webhook.created', data: { id: ID, ...fields } };
const deleted: WebhookEvent = { type: 'webhook.deleted', data: { id: ID } };
const retry = { baseMs: 1000, maxMs: 5000 };
const now = new Date('2026-01-15T10:30:00.000Z');

const outcome = (o: Partial<AttemptOutcome> = {}): AttemptOutcome => ({
  deliveryId: DLV, event: 'request.created', eventPosition: 42, attempt: 1,
  statusCode: 500, durationMs: 12, error: 'HTTP 500', retryable: true, ...o,
});

t.test('create records the fields; the same id twice is a conflict', async (t) => {
  const state = webhook.given().when({ type: 'create', id: ID, fields }).then(t, [created]);
  t.same(state, { id: ID, deleted: false, enabled: true, maxAttempts: 3, version: 1 });
  webhook.given(created).when({ type: 'create', id: ID, fields }).thenError(t, 'CONCURRENCY_CONFLICT');
});

t.test('create refuses what the domain does not allow, whoever calls', async (t) => {
  const bad = (f: Partial<WebhookFields>, field: string) =>
    webhook.given().when({ type: 'create', id: ID, fields: { ...fields, ...f } }).thenError(t, 'VALIDATION_ERROR', [{ field }]);
  bad({ url: 'ftp://example.com/x' }, 'body.url');
  bad({ url: 'not a url' }, 'body.url');
  bad({ url: 'https://user:pw@example.com/' }, 'body.url');
  bad({ events: [] }, 'body.events');
  bad({ events: ['request.approve'] }, 'body.events');
  bad({ secret: 'short' }, 'body.secret');
  bad({ maxAttempts: 0 }, 'body.maxAttempts');
  bad({ maxAttempts: 21 }, 'body.maxAttempts');
});

t.test('update records only the given changes; nothing to change, no event', async (t) => {
  const state = webhook.given(created).when({ type: 'update', changes: { enabled: false, maxAttempts: 5 } })
    .then(t, [{ type: 'webhook.updated', data: { id: ID, enabled: false, maxAttempts: 5 } }]);
  t.same(state, { id: ID, deleted: false, enabled: false, maxAttempts: 5, version: 2 });
  webhook.given(created).when({ type: 'update', changes: {} }).then(t, []);
  webhook.given(created).when({ type: 'update', changes: { url: 'gopher://x' } }).thenError(t, 'VALIDATION_ERROR');
});

t.test('a deleted or unknown webhook is NOT_FOUND for every command', async (t) => {
  webhook.given(created).when({ type: 'delete' }).then(t, [deleted]);
  for (const history of [[], [created, deleted]]) {
    webhook.given(...history).when({ type: 'delete' }).thenError(t, 'NOT_FOUND');
    webhook.given(...history).when({ type: 'update', changes: { enabled: true } }).thenError(t, 'NOT_FOUND');
    webhook.given(...history).when({ type: 'record_attempt', outcome: outcome(), retry, now }).thenError(t, 'NOT_FOUND');
  }
});

t.test('a failed attempt schedules the next one 2^attempt × base later', async (t) => {
  webhook.given(created).when({ type: 'record_attempt', outcome: outcome({ attempt: 1 }), retry, now }).then(t, [{
    type: 'webhook.delivery_attempted',
    data: {
      deliveryId: DLV, event: 'request.created', eventPosition: 42, attempt: 1, ok: false, statusCode: 500,
      durationMs: 12, error: 'HTTP 500', attemptedAt: now.toISOString(), nextAttemptAt: '2026-01-15T10:30:02.000Z',
    },
  }]);
  const second = webhook.given(created).when({ type: 'record_attempt', outcome: outcome({ attempt: 2 }), retry, now }).events();
  t.equal((second[0]!.data as { nextAttemptAt: string }).nextAttemptAt, '2026-01-15T10:30:04.000Z');
});

t.test('the delay grows exponentially up to the cap', async (t) => {
  t.same([1, 2, 3, 4, 10].map((a) => retryDelayMs(a, retry)), [2000, 4000, 5000, 5000, 5000]);
  t.same([1, 2, 3].map((a) => retryDelayMs(a, { baseMs: 1000, maxMs: 3_600_000 })), [2000, 4000, 8000]);
});

t.test('no next attempt after a success, at the maximum, or when retrying cannot help', async (t) => {
  const next = (o: Partial<AttemptOutcome>, history: WebhookEvent[] = [created]) =>
    (webhook.given(...history).when({ type: 'record_attempt', outcome: outcome(o), retry, now }).events()[0]!.data as { ok: boolean; nextAttemptAt: string | null });
  t.match(next({ statusCode: 204, error: null }), { ok: true, nextAttemptAt: null }, 'success');
  t.match(next({ attempt: 3 }), { ok: false, nextAttemptAt: null }, 'third of three attempts: dead');
  t.match(next({ attempt: 2 }), { ok: false, nextAttemptAt: '2026-01-15T10:30:04.000Z' }, 'second of three: retried');
  t.match(next({ statusCode: null, error: 'refused: loopback', retryable: false }), { ok: false, nextAttemptAt: null }, 'refused URL');
  t.match(next({ statusCode: 301, error: 'redirect to http://x not followed' }), { ok: false }, 'a redirect is a failure');
  const raised: WebhookEvent = { type: 'webhook.updated', data: { id: ID, maxAttempts: 5 } };
  t.match(next({ attempt: 3 }, [created, raised]), { nextAttemptAt: '2026-01-15T10:30:05.000Z' }, 'maxAttempts raised later applies (capped delay)');
});

t.test('a redelivery request names the new delivery and the one it repeats', async (t) => {
  webhook.given(created).when({ type: 'request_redelivery', deliveryId: DLV, of: 'dlv_01jw0000000000000000000000', event: 'request.created', eventPosition: 7 })
    .then(t, [{ type: 'webhook.redelivery_requested', data: { deliveryId: DLV, of: 'dlv_01jw0000000000000000000000', event: 'request.created', eventPosition: 7 } }]);
  webhook.given(created, deleted).when({ type: 'request_redelivery', deliveryId: DLV, of: DLV, event: 'x', eventPosition: null }).thenError(t, 'NOT_FOUND');
});
