/**
 * The reviewer directory as a pure decider: the people who decide requests from Slack,
 * Discord, email or a key linked to them. Uniqueness of the channel identities (one
 * Slack user is one reviewer) spans streams, so the caller looks up who holds them,
 * under a lock, and hands the facts in.
 */
import { AppError } from '../errors.ts';
import type { NewEvent } from '../events/types.ts';

export const PREFERRED_CHANNELS = ['slack', 'discord', 'email'] as const;
export type PreferredChannel = (typeof PREFERRED_CHANNELS)[number];

export interface ReviewerFields {
  name: string;
  email: string | null;
  slackUserId: string | null;
  discordUserId: string | null;
  groups: string[];
  disabled: boolean;
  /** The API key this person decides with from the CLI or the API: one identity in the audit log. */
  keyId: string | null;
  /** Where a `group:` destination reaches this person. */
  preferredChannel: PreferredChannel | null;
}

/** The identities that may belong to one reviewer only. */
export const UNIQUE_FIELDS = ['email', 'slackUserId', 'discordUserId', 'keyId'] as const;
export type UniqueField = (typeof UNIQUE_FIELDS)[number];

export interface ReviewerState {
  id: string | null;
  deleted: boolean;
  fields: ReviewerFields | null;
  version: number;
}

export const initialReviewerState = (): ReviewerState => ({ id: null, deleted: false, fields: null, version: 0 });

/** Outside facts: which unique identities another reviewer already holds, and whether a key exists. */
export interface DirectoryFacts {
  takenBy: Partial<Record<UniqueField, string>>;
  keyUsable: boolean;
}

export type ReviewerCommand =
  | { type: 'create'; id: string; fields: ReviewerFields; facts: DirectoryFacts }
  | { type: 'update'; changes: Partial<ReviewerFields>; facts: DirectoryFacts }
  | { type: 'delete' };

export type ReviewerEvent =
  | NewEvent<'reviewer.created', { id: string } & ReviewerFields>
  | NewEvent<'reviewer.updated', { id: string } & Partial<ReviewerFields>>
  | NewEvent<'reviewer.deleted', { id: string }>;

function checkFacts(fields: Partial<ReviewerFields>, facts: DirectoryFacts): void {
  const clashes = UNIQUE_FIELDS.filter((f) => fields[f] != null && facts.takenBy[f] !== undefined);
  if (clashes.length) {
    throw new AppError('DUPLICATE_IDENTITY', `${clashes.join(', ')} already belong${clashes.length === 1 ? 's' : ''} to another reviewer`,
      clashes.map((f) => ({ field: `body.${f}`, message: `already belongs to ${facts.takenBy[f]}` })));
  }
  if (fields.keyId != null && !facts.keyUsable) {
    throw new AppError('VALIDATION_ERROR', `key ${fields.keyId} does not exist or is revoked`, [{ field: 'body.keyId', message: 'is not an active key' }]);
  }
  if (fields.preferredChannel != null) {
    const needs = { slack: 'slackUserId', discord: 'discordUserId', email: 'email' } as const;
    if (fields[needs[fields.preferredChannel]] == null) {
      throw new AppError('VALIDATION_ERROR', `preferredChannel ${fields.preferredChannel} needs ${needs[fields.preferredChannel]}`,
        [{ field: 'body.preferredChannel', message: `needs ${needs[fields.preferredChannel]}` }]);
    }
  }
}

export function decideReviewer(command: ReviewerCommand, state: ReviewerState): ReviewerEvent[] {
  if (command.type === 'create') {
    if (state.id !== null) throw new AppError('CONCURRENCY_CONFLICT', 'reviewer already exists');
    checkFacts(command.fields, command.facts);
    return [{ type: 'reviewer.created', data: { id: command.id, ...command.fields } }];
  }
  if (state.id === null || state.deleted || !state.fields) throw new AppError('NOT_FOUND', 'reviewer not found');
  if (command.type === 'delete') return [{ type: 'reviewer.deleted', data: { id: state.id } }];
  // Only what really changes is recorded.
  const changes = Object.fromEntries(Object.entries(command.changes).filter(
    ([k, v]) => JSON.stringify(v) !== JSON.stringify(state.fields![k as keyof ReviewerFields]),
  )) as Partial<ReviewerFields>;
  if (Object.keys(changes).length === 0) return [];
  checkFacts({ ...state.fields, ...changes }, command.facts);
  return [{ type: 'reviewer.updated', data: { id: state.id, ...changes } }];
}

export function evolveReviewer(state: ReviewerState, event: { type: string; data: Record<string, unknown> } | ReviewerEvent): ReviewerState {
  const next = { ...state, version: state.version + 1 };
  const e = event as ReviewerEvent;
  switch (e.type) {
    case 'reviewer.created': {
      const { id, ...fields } = e.data;
      return { ...next, id, fields };
    }
    case 'reviewer.updated': {
      const { id: _id, ...changes } = e.data;
      return { ...next, fields: { ...state.fields!, ...changes } };
    }
    case 'reviewer.deleted':
      return { ...next, deleted: true };
    default:
      return next;
  }
}
