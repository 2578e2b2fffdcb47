import type { Sql } from '../db/connect.ts';
import { AppError, isAppError } from '../errors.ts';
import { executeCommand } from '../events/command.ts';
import { isUniqueViolation } from '../events/store.ts';
import { streamId, type EventMetadata } from '../events/types.ts';
import { newId } from '../ids.ts';
import {
  decideReviewer, evolveReviewer, initialReviewerState, type DirectoryFacts, type ReviewerFields, type ReviewerState,
} from './decider.ts';
import { identityHolders, keyIsActive } from './queries.ts';

type Wanted = { type: 'create'; fields: ReviewerFields } | { type: 'update'; changes: Partial<ReviewerFields> } | { type: 'delete' };

/**
 * Every directory write takes one lock, so that two writers cannot both claim a Slack user
 * or an email, and so that they commit in position order (a rebuild meets them in the same
 * order as they happened, and the projection's unique indexes agree).
 */
export async function runReviewerCommand(sql: Sql, id: string, wanted: Wanted, metadata: EventMetadata) {
  let facts: DirectoryFacts = { takenBy: {}, keyUsable: true };
  try {
    return await executeCommand<ReviewerState>(sql, {
      streamId: streamId('reviewer', id),
      streamType: 'reviewer',
      newStream: wanted.type === 'create',
      serializeOn: 'reviewer-identities',
      initial: initialReviewerState,
      evolve: evolveReviewer,
      prepare: async (tx) => {
        if (wanted.type === 'delete') return;
        // The identities as they will be after the change; for an update, the current row fills the gaps.
        const [current] = wanted.type === 'update'
          ? await tx<{ email: string | null; slack_user_id: string | null; discord_user_id: string | null; key_id: string | null }[]>`
              select email, slack_user_id, discord_user_id, key_id from reviewers where id = ${id}`
          : [];
        const f = wanted.type === 'create' ? wanted.fields : wanted.changes;
        const pick = <K extends 'email' | 'slackUserId' | 'discordUserId' | 'keyId'>(k: K, fallback: string | null | undefined) =>
          f[k] !== undefined ? f[k] : fallback ?? null;
        const merged = {
          email: pick('email', current?.email), slackUserId: pick('slackUserId', current?.slack_user_id),
          discordUserId: pick('discordUserId', current?.discord_user_id), keyId: pick('keyId', current?.key_id),
        };
        facts = {
          takenBy: await identityHolders(tx, id, merged),
          keyUsable: merged.keyId === null || f.keyId === undefined || await keyIsActive(tx, merged.keyId),
        };
      },
      decide: (s) => decideReviewer(
        wanted.type === 'create' ? { type: 'create', id, fields: wanted.fields, facts }
          : wanted.type === 'update' ? { type: 'update', changes: wanted.changes, facts } : { type: 'delete' },
        s,
      ),
      metadata,
    });
  } catch (err) {
    // The indexes back the check above; they only fire if a write bypassed the lock.
    if (['reviewers_email_idx', 'reviewers_slack_idx', 'reviewers_discord_idx', 'reviewers_key_idx'].some((c) => isUniqueViolation(err, c))) {
      throw new AppError('DUPLICATE_IDENTITY');
    }
    if (isAppError(err) && err.code === 'NOT_FOUND') throw new AppError('NOT_FOUND', `reviewer ${id} not found`);
    throw err;
  }
}

export async function createReviewer(sql: Sql, fields: ReviewerFields, metadata: EventMetadata): Promise<string> {
  const id = newId('reviewer');
  await runReviewerCommand(sql, id, { type: 'create', fields }, metadata);
  return id;
}
