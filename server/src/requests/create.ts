/**
 * Creating a request: the hottest path. After authentication (one round trip, the rate
 * limit counted with it) a create costs one more: the policies are evaluated in memory
 * (policies/policy-set.ts), the pure decider makes the one `request.created`, and one
 * INSERT appends it, grouped with concurrent creates (group-commit.ts). The answer is
 * built from the appended event, not read back. A request sent with an Idempotency-Key
 * looks the key up first (one more round trip, only then).
 */
import { plansAnnouncements } from '../channels/destinations.ts';
import type { Sql } from '../db/connect.ts';
import { AppError } from '../errors.ts';
import { isUniqueViolation } from '../events/store.ts';
import type { EventMetadata } from '../events/types.ts';
import { newId } from '../ids.ts';
import { PolicySet } from '../policies/policy-set.ts';
import { bodyHash, findIdempotent } from './commands.ts';
import { requestFromCreated } from './created-view.ts';
import { decide, initialRequestState, type Principal, type RequestCreatedData } from './decider.ts';
import { CreateAppender } from './group-commit.ts';
import type { ApprovalRequest, CreateRequestBody } from './schemas.ts';

export interface CreateResult {
  request: ApprovalRequest;
  created: boolean;
}

export interface RequestCreatorOptions {
  /** Expiry given to requests that name none (REQUEST_DEFAULT_TTL_SECONDS); unset = none. */
  defaultTtlSeconds?: number;
  /**
   * Whether this server has a default notification destination (SLACK_DEFAULT_CHANNEL,
   * DISCORD_DEFAULT_CHANNEL or EMAIL_DEFAULT_TO). With none, a routed request whose rule
   * names no channel is recorded as having nothing to announce, and no job plans it.
   * Unset = not known: every routed request is planned, as by older servers.
   */
  defaultDestination?: boolean;
}

/** Policy changes that may overtake one create before it gives up (each reloads the policies). */
const POLICY_RACE_ATTEMPTS = 5;

export class RequestCreator {
  /** A creator with its own policy set and appender (for scripts: no live hub needed, the append guard keeps policies fresh). */
  static standalone(sql: Sql, options: RequestCreatorOptions & { groupCommitMs?: number } = {}): RequestCreator {
    return new RequestCreator(sql, new PolicySet(sql), new CreateAppender(sql, { windowMs: options.groupCommitMs ?? 0 }), options);
  }

  constructor(
    private readonly sql: Sql,
    private readonly policies: PolicySet,
    private readonly appender: CreateAppender,
    private readonly options: RequestCreatorOptions = {},
  ) {}

  async create(body: CreateRequestBody, requester: Principal, metadata: EventMetadata, idempotencyKey?: string): Promise<CreateResult> {
    const hash = idempotencyKey ? bodyHash(body) : null;
    if (idempotencyKey && hash) {
      const existing = await findIdempotent(this.sql, requester.id, idempotencyKey, hash);
      if (existing) return { request: existing, created: false };
    }
    if (body.expiresAt && Number.isNaN(Date.parse(body.expiresAt))) {
      // The date-time format admits a few strings no clock has (a leap second, 23:59:60).
      throw new AppError('VALIDATION_ERROR', 'expiresAt is not a parsable time', [{ field: 'body.expiresAt', message: 'is not a parsable time' }]);
    }
    const now = new Date();
    const id = newId('request');
    const params = body.params ?? {};
    const context = body.context ?? {};
    const urgency = body.urgency ?? 'normal';
    const ttl = this.options.defaultTtlSeconds;
    // A request that names no expiry gets the server's default, if any.
    const expiresAt = body.expiresAt ? new Date(body.expiresAt).toISOString()
      : ttl ? new Date(now.getTime() + ttl * 1000).toISOString() : null;
    const subject = { action: body.action, urgency, params, context, requester: { keyId: requester.id, keyName: requester.name } };

    const defaultDestination = this.options.defaultDestination;
    let snapshot = await this.policies.current();
    for (let attempt = 1; ; attempt++) {
      const outcome = snapshot.evaluate(subject);
      const [event] = decide({
        type: 'create', id, action: body.action, params, context, urgency, expiresAt,
        requester: { id: requester.id, name: requester.name },
        ...(idempotencyKey && hash ? { idempotency: { key: idempotencyKey, bodyHash: hash } } : {}),
        outcome, now,
        ...(defaultDestination !== undefined ? { notify: plansAnnouncements(outcome.channels, defaultDestination) } : {}),
      }, initialRequestState());
      const data = event!.data as RequestCreatedData;
      let appended;
      try {
        appended = await this.appender.append({ data, metadata }, snapshot.version);
      } catch (err) {
        // Two retries with one key raced: the loser returns the winner's request.
        if (idempotencyKey && hash && isUniqueViolation(err, 'idempotency_keys_pkey')) {
          const existing = await findIdempotent(this.sql, requester.id, idempotencyKey, hash);
          if (existing) return { request: existing, created: false };
        }
        throw err;
      }
      if (appended) return { request: requestFromCreated(data, appended), created: true };
      // The policies changed since this snapshot was loaded: evaluate again with the new ones.
      if (attempt >= POLICY_RACE_ATTEMPTS) throw new AppError('CONCURRENCY_CONFLICT', 'The policies kept changing while the request was created; retry');
      snapshot = await this.policies.refresh(snapshot.version);
    }
  }
}
