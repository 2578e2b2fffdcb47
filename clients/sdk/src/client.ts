import { Transport, type TransportOptions } from './http.ts';
import { waitForDecision, type WaitOptions } from './wait.ts';
import { eventStream, exportEvents, type EventsOptions, type ExportOptions, type LiveEvent } from './events.ts';
import type {
  ApiKey, CurrentKey, ApprovalRequest, AuditEntry, AuditPage, AuditQuery, CreatedKey, CreatedWebhook, RevokedKey, CreateKeyInput,
  DeletedPolicy, ListRequestsQuery, Override, OverrideInput, Pagination, Policy, RemovedOverride, PolicyInput, RequestInput, RequestList, UpdateKeyInput,
  DeletedWebhook, DeliveryList, ListDeliveriesQuery, RedeliveryAccepted, Webhook, WebhookInput, WebhookTestResult, WebhookUpdate,
  DecisionLinks, IssueLinksInput, PolicyTrial, PolicyTrialInput, Session, Channel, ChannelTest, ChannelType,
  ListReviewersQuery, Reviewer, ReviewerInput, ReviewerUpdate,
} from './types.ts';

export type AgentGateClientOptions = TransportOptions;

export interface CallSignal {
  signal?: AbortSignal;
}

const enc = encodeURIComponent;

function newIdempotencyKey(): string {
  // crypto.randomUUID exists on Node 20 and in browsers on secure origins; the fallback covers plain http pages.
  const c = globalThis.crypto as Crypto | undefined;
  if (c?.randomUUID) return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
}

/**
 * A client of the AgentGate HTTP API, for Node 20+ and browsers.
 *
 * ```ts
 * const gate = new AgentGateClient({ baseUrl: 'http://localhost:3000', apiKey: process.env.AGENTGATE_API_KEY });
 * const req = await gate.request({ action: 'send_email', params: { to: 'a@b.c' } });
 * const decided = await gate.waitForDecision(req.id, { timeout: 60_000 });
 * ```
 */
export class AgentGateClient {
  readonly transport: Transport;

  constructor(opts: AgentGateClientOptions) {
    this.transport = new Transport(opts);
  }

  get baseUrl(): string {
    return this.transport.baseUrl;
  }

  // --- requests -----------------------------------------------------------

  /**
   * Asks for approval. Always sends an Idempotency-Key (a fresh one unless given), so the
   * call is retried safely: a retry that reaches the server twice still yields one request.
   */
  request(input: RequestInput, opts: { idempotencyKey?: string } & CallSignal = {}): Promise<ApprovalRequest> {
    const body = { ...input, ...(input.expiresAt instanceof Date ? { expiresAt: input.expiresAt.toISOString() } : {}) };
    return this.transport.call('/api/requests', {
      method: 'POST', body, signal: opts.signal, idempotent: true,
      headers: { 'idempotency-key': opts.idempotencyKey ?? newIdempotencyKey() },
    });
  }

  getRequest(id: string, opts: CallSignal = {}): Promise<ApprovalRequest> {
    return this.transport.call(`/api/requests/${enc(id)}`, { signal: opts.signal });
  }

  listRequests(query: ListRequestsQuery = {}, opts: CallSignal = {}): Promise<RequestList> {
    return this.transport.call('/api/requests', { query, signal: opts.signal });
  }

  /** Approves or denies a pending request as the key's principal; `decidedBy` is a label kept beside it. */
  decide(id: string, decision: 'approved' | 'denied', opts: { reason?: string | null; decidedBy?: string | null } & CallSignal = {}): Promise<ApprovalRequest> {
    const body: Record<string, unknown> = { decision };
    if (opts.reason != null) body.reason = opts.reason;
    if (opts.decidedBy != null) body.decidedBy = opts.decidedBy;
    return this.transport.call(`/api/requests/${enc(id)}/decide`, { method: 'POST', body, signal: opts.signal });
  }

  approve(id: string, reason?: string): Promise<ApprovalRequest> {
    return this.decide(id, 'approved', { reason: reason ?? null });
  }

  deny(id: string, reason?: string): Promise<ApprovalRequest> {
    return this.decide(id, 'denied', { reason: reason ?? null });
  }

  cancel(id: string, opts: { reason?: string | null } & CallSignal = {}): Promise<ApprovalRequest> {
    return this.transport.call(`/api/requests/${enc(id)}/cancel`, {
      method: 'POST', body: opts.reason != null ? { reason: opts.reason } : {}, signal: opts.signal,
    });
  }

  /**
   * Resolves with the request once it is approved, denied, expired or cancelled.
   * Throws TimeoutError after `timeout` ms; rejects with the signal's reason on abort.
   */
  waitForDecision(id: string, opts: WaitOptions = {}): Promise<ApprovalRequest> {
    return waitForDecision(this.transport, id, opts);
  }

  /** Issues one-use approve/deny links that decide as this key (for a reviewer without one). */
  issueDecisionLinks(id: string, input: IssueLinksInput = {}, opts: CallSignal = {}): Promise<DecisionLinks> {
    return this.transport.call(`/api/requests/${enc(id)}/tokens`, { method: 'POST', body: input, signal: opts.signal });
  }

  /** Every recorded fact about one request, oldest first. */
  getAuditTrail(id: string, opts: CallSignal = {}): Promise<AuditEntry[]> {
    return this.transport.call(`/api/requests/${enc(id)}/audit`, { signal: opts.signal });
  }

  // --- dashboard sessions (browsers) ----------------------------------------

  /**
   * Exchanges an API key for a session cookie (create the client with `credentials:
   * 'same-origin'` and no apiKey). The key is sent once and not kept; later calls, and
   * `events()`, are authenticated by the cookie, writes by the session's anti-CSRF token.
   */
  async signIn(apiKey: string, opts: CallSignal = {}): Promise<Session> {
    const session = await this.transport.call<Session>('/api/session', { method: 'POST', body: { apiKey }, signal: opts.signal, retries: 0 });
    this.transport.csrfToken = session.csrfToken;
    return session;
  }

  /** How one may sign in here: an API key always; an emailed link when the server has email. */
  signInMethods(opts: CallSignal = {}): Promise<{ apiKey: boolean; emailLink: boolean }> {
    return this.transport.call('/api/session/methods', { signal: opts.signal });
  }

  /**
   * Asks for a one-time sign-in link for a reviewer's address. The answer is the same
   * whether or not the address is known; the link arrives by email, works once, 15 minutes.
   */
  async requestSignInLink(email: string, opts: CallSignal = {}): Promise<{ message: string }> {
    return this.transport.call('/api/session/email-link', { method: 'POST', body: { email }, signal: opts.signal, retries: 0 });
  }

  /** Signs in with an emailed link's token: the session is the reviewer's (reads and decides). */
  async signInWithLink(token: string, opts: CallSignal = {}): Promise<Session> {
    const session = await this.transport.call<Session>('/api/session/email-link/use', { method: 'POST', body: { token }, signal: opts.signal, retries: 0 });
    this.transport.csrfToken = session.csrfToken;
    return session;
  }

  /** The session of the page's cookie (renewed when due); throws UNAUTHORIZED when there is none. */
  async session(opts: CallSignal = {}): Promise<Session> {
    const session = await this.transport.call<Session>('/api/session', { signal: opts.signal });
    this.transport.csrfToken = session.csrfToken;
    return session;
  }

  /** Ends the session on every tab and server. */
  async signOut(opts: CallSignal = {}): Promise<void> {
    await this.transport.call('/api/session', { method: 'DELETE', signal: opts.signal });
    this.transport.csrfToken = null;
  }

  // --- policies -----------------------------------------------------------

  /** Every policy, in evaluation order (the server pages them; this reads every page). */
  async listPolicies(opts: CallSignal = {}): Promise<Policy[]> {
    const all: Policy[] = [];
    for (;;) {
      const body = await this.transport.call<{ policies: Policy[]; pagination: Pagination }>('/api/policies', {
        query: { limit: 100, offset: all.length }, signal: opts.signal,
      });
      all.push(...body.policies);
      if (!body.pagination.hasMore || body.policies.length === 0) return all;
    }
  }

  getPolicy(id: string, opts: CallSignal = {}): Promise<Policy> {
    return this.transport.call(`/api/policies/${enc(id)}`, { signal: opts.signal });
  }

  createPolicy(input: PolicyInput, opts: CallSignal = {}): Promise<Policy> {
    return this.transport.call('/api/policies', { method: 'POST', body: input, signal: opts.signal });
  }

  /**
   * Replaces the policy (PUT): omitted optional fields take their defaults. A policy as
   * read back may be passed as is (`{ ...policy, enabled: false }`): read-only fields are dropped.
   */
  updatePolicy(id: string, input: PolicyInput | Policy, opts: CallSignal = {}): Promise<Policy> {
    const { name, description, priority, enabled, rules } = input;
    const body = Object.fromEntries(Object.entries({ name, description, priority, enabled, rules }).filter(([, v]) => v !== undefined));
    return this.transport.call(`/api/policies/${enc(id)}`, { method: 'PUT', body, signal: opts.signal });
  }

  /** Evaluates a sample request against a draft policy without saving it: alone, and among the saved ones. */
  testPolicy(input: PolicyTrialInput, opts: CallSignal = {}): Promise<PolicyTrial> {
    return this.transport.call('/api/policies/test', { method: 'POST', body: input, signal: opts.signal, idempotent: true });
  }

  deletePolicy(id: string, opts: CallSignal = {}): Promise<DeletedPolicy> {
    return this.transport.call(`/api/policies/${enc(id)}`, { method: 'DELETE', signal: opts.signal });
  }

  // --- webhooks -----------------------------------------------------------

  async listWebhooks(opts: CallSignal = {}): Promise<Webhook[]> {
    const body = await this.transport.call<{ webhooks: Webhook[] }>('/api/webhooks', { signal: opts.signal });
    return body.webhooks;
  }

  getWebhook(id: string, opts: CallSignal = {}): Promise<Webhook> {
    return this.transport.call(`/api/webhooks/${enc(id)}`, { signal: opts.signal });
  }

  /** The answer holds the signing secret; it is never shown again. */
  createWebhook(input: WebhookInput, opts: CallSignal = {}): Promise<CreatedWebhook> {
    return this.transport.call('/api/webhooks', { method: 'POST', body: input, signal: opts.signal });
  }

  updateWebhook(id: string, changes: WebhookUpdate, opts: CallSignal = {}): Promise<Webhook> {
    return this.transport.call(`/api/webhooks/${enc(id)}`, { method: 'PATCH', body: changes, signal: opts.signal, idempotent: true });
  }

  deleteWebhook(id: string, opts: CallSignal = {}): Promise<DeletedWebhook> {
    return this.transport.call(`/api/webhooks/${enc(id)}`, { method: 'DELETE', signal: opts.signal });
  }

  /** Delivery history, newest first, each with every attempt. */
  listDeliveries(id: string, query: ListDeliveriesQuery = {}, opts: CallSignal = {}): Promise<DeliveryList> {
    return this.transport.call(`/api/webhooks/${enc(id)}/deliveries`, { query, signal: opts.signal });
  }

  /** Queues the delivery again, as a new delivery. */
  redeliver(id: string, deliveryId: string, opts: CallSignal = {}): Promise<RedeliveryAccepted> {
    return this.transport.call(`/api/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}/redeliver`, { method: 'POST', signal: opts.signal });
  }

  /** Sends a signed test event now and reports what the receiver answered. */
  testWebhook(id: string, opts: CallSignal = {}): Promise<WebhookTestResult> {
    return this.transport.call(`/api/webhooks/${enc(id)}/test`, { method: 'POST', signal: opts.signal });
  }

  // --- reviewer directory -------------------------------------------------

  /** The people who decide from Slack, Discord, email or a linked key, by name; disabled ones too unless asked not to. */
  async listReviewers(query: ListReviewersQuery = {}, opts: CallSignal = {}): Promise<Reviewer[]> {
    const body = await this.transport.call<{ reviewers: Reviewer[] }>('/api/reviewers', { query, signal: opts.signal });
    return body.reviewers;
  }

  getReviewer(id: string, opts: CallSignal = {}): Promise<Reviewer> {
    return this.transport.call(`/api/reviewers/${enc(id)}`, { signal: opts.signal });
  }

  createReviewer(input: ReviewerInput, opts: CallSignal = {}): Promise<Reviewer> {
    return this.transport.call('/api/reviewers', { method: 'POST', body: input, signal: opts.signal });
  }

  /** Changes only the fields given (`disabled: true` disables); the server records only what really changed. */
  updateReviewer(id: string, changes: ReviewerUpdate, opts: CallSignal = {}): Promise<Reviewer> {
    return this.transport.call(`/api/reviewers/${enc(id)}`, { method: 'PATCH', body: changes, signal: opts.signal, idempotent: true });
  }

  /** Removes the reviewer; decisions they made keep their name. Answers with the reviewer as they were. */
  deleteReviewer(id: string, opts: CallSignal = {}): Promise<Reviewer> {
    return this.transport.call(`/api/reviewers/${enc(id)}`, { method: 'DELETE', signal: opts.signal });
  }

  // --- notification channels ----------------------------------------------

  /** Every channel (Slack, Discord, email), on or off as configured, with its last delivery and last test. */
  async listChannels(opts: CallSignal = {}): Promise<Channel[]> {
    const body = await this.transport.call<{ channels: Channel[] }>('/api/channels', { signal: opts.signal });
    return body.channels;
  }

  /** Queues a test message to the channel's default destination; the worker sends it (see getChannelTest). */
  testChannel(type: ChannelType, opts: CallSignal = {}): Promise<ChannelTest> {
    return this.transport.call(`/api/channels/${enc(type)}/test`, { method: 'POST', signal: opts.signal, retries: 0 });
  }

  /** One test message and how it went: queued, sent or failed. */
  getChannelTest(type: ChannelType, id: string, opts: CallSignal = {}): Promise<ChannelTest> {
    return this.transport.call(`/api/channels/${enc(type)}/tests/${enc(id)}`, { signal: opts.signal });
  }

  // --- overrides ----------------------------------------------------------

  /** Puts a temporary rule in front of every policy: deny, or send to a person, what matches `action`. */
  createOverride(input: OverrideInput, opts: CallSignal = {}): Promise<Override> {
    return this.transport.call('/api/overrides', { method: 'POST', body: input, signal: opts.signal });
  }

  /** The overrides in force (not removed, not expired), oldest first. */
  async listOverrides(opts: CallSignal = {}): Promise<Override[]> {
    const body = await this.transport.call<{ overrides: Override[] }>('/api/overrides', { signal: opts.signal });
    return body.overrides;
  }

  /** The override stops applying at once. */
  removeOverride(id: string, opts: CallSignal = {}): Promise<RemovedOverride> {
    return this.transport.call(`/api/overrides/${enc(id)}`, { method: 'DELETE', signal: opts.signal });
  }

  // --- API keys -----------------------------------------------------------

  /** The key this client authenticates with: its name, scopes and rate limit (any key may ask). */
  whoami(opts: CallSignal = {}): Promise<CurrentKey> {
    return this.transport.call('/api/keys/me', { signal: opts.signal });
  }

  /** Every key, revoked ones included (`active: false`) unless `includeRevoked: false`. */
  async listKeys(query: { includeRevoked?: boolean } = {}, opts: CallSignal = {}): Promise<ApiKey[]> {
    const body = await this.transport.call<{ keys: ApiKey[] }>('/api/keys', { query, signal: opts.signal });
    return body.keys;
  }

  /** The answer holds the key itself (agk_…); it is never shown again. */
  createKey(input: CreateKeyInput, opts: CallSignal = {}): Promise<CreatedKey> {
    return this.transport.call('/api/keys', { method: 'POST', body: input, signal: opts.signal });
  }

  updateKey(id: string, changes: UpdateKeyInput, opts: CallSignal = {}): Promise<ApiKey> {
    return this.transport.call(`/api/keys/${enc(id)}`, { method: 'PATCH', body: changes, signal: opts.signal, idempotent: true });
  }

  /** The key stops working at once, on every server. */
  revokeKey(id: string, opts: CallSignal = {}): Promise<RevokedKey> {
    return this.transport.call(`/api/keys/${enc(id)}`, { method: 'DELETE', signal: opts.signal });
  }

  // --- audit and live events ----------------------------------------------

  /** Searches the audit log, newest first; follow `pagination.nextCursor` for older pages. */
  audit(query: AuditQuery = {}, opts: CallSignal = {}): Promise<AuditPage> {
    return this.transport.call('/api/audit', { query: { ...query }, signal: opts.signal });
  }

  /** The distinct actors of the audit log as entries print them (`key:ops-bot`, `policy:…`, `system`), sorted. */
  async auditActors(opts: CallSignal = {}): Promise<string[]> {
    const body = await this.transport.call<{ actors: string[] }>('/api/audit/actors', { signal: opts.signal });
    return body.actors;
  }

  /** The distinct actions of requests, sorted. */
  async auditActions(opts: CallSignal = {}): Promise<string[]> {
    const body = await this.transport.call<{ actions: string[] }>('/api/audit/actions', { signal: opts.signal });
    return body.actions;
  }

  /**
   * Live events over a WebSocket, as an async iterator; on a dropped connection it
   * reconnects and resumes after the last event it delivered, so nothing is skipped or repeated.
   */
  events(opts: EventsOptions = {}): AsyncIterable<LiveEvent> {
    return eventStream(this.transport, opts);
  }

  /** The event log from a position, as NDJSON read line by line (for exports and backfills). */
  exportEvents(opts: ExportOptions = {}): AsyncIterable<LiveEvent> {
    return exportEvents(this.transport, opts);
  }

  health(opts: CallSignal = {}): Promise<{ status: string; timestamp: string; [k: string]: unknown }> {
    return this.transport.call('/health', { signal: opts.signal });
  }
}
