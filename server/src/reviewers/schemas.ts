import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from '../http/schemas.ts';
import { PREFERRED_CHANNELS } from './decider.ts';

const name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });
const email = Nullable(Type.String({ format: 'email', maxLength: 320 }));
const slackUserId = Nullable(Type.String({ pattern: '^[UW][A-Z0-9]{2,20}$', description: 'Slack member id (U…/W…)' }));
const discordUserId = Nullable(Type.String({ pattern: '^[0-9]{15,21}$', description: 'Discord user id (snowflake)' }));
export const GROUP_NAME = '^[a-z0-9][a-z0-9._-]{0,63}$';
const groups = Type.Array(Type.String({ pattern: GROUP_NAME }), {
  uniqueItems: true, maxItems: 50, description: 'Named in rule approvers and channels as "group:<name>"',
});
const keyId = Nullable(Type.String({ pattern: '^key_[0-9a-z]{26}$', description: 'The API key this person decides with from the CLI or the API' }));
const preferredChannel = Nullable(Type.Union(PREFERRED_CHANNELS.map((c) => Type.Literal(c)), {
  description: 'Where a "group:" destination reaches this person (needs the matching id or email)',
}));

const fields = {
  name, email: Type.Optional(email), slackUserId: Type.Optional(slackUserId), discordUserId: Type.Optional(discordUserId),
  groups: Type.Optional(groups), disabled: Type.Optional(Type.Boolean()), keyId: Type.Optional(keyId),
  preferredChannel: Type.Optional(preferredChannel),
};

export const CreateReviewerBody = Type.Object(fields, { additionalProperties: false });
export type CreateReviewerBody = Static<typeof CreateReviewerBody>;

export const UpdateReviewerBody = Type.Object({ ...fields, name: Type.Optional(name) }, { additionalProperties: false, minProperties: 1 });
export type UpdateReviewerBody = Static<typeof UpdateReviewerBody>;

export const Reviewer = Type.Object({
  id: Type.String({ description: 'rev_…' }),
  name: Type.String(),
  email: Nullable(Type.String()),
  slackUserId: Nullable(Type.String()),
  discordUserId: Nullable(Type.String()),
  groups: Type.Array(Type.String()),
  disabled: Type.Boolean(),
  keyId: Nullable(Type.String()),
  preferredChannel: Nullable(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}, { $id: 'Reviewer' });
export type Reviewer = Static<typeof Reviewer>;

export const ReviewerList = Type.Object({ reviewers: Type.Array(Reviewer) });

export const ListReviewersQuery = Type.Object({
  group: Type.Optional(Type.String({ pattern: GROUP_NAME })),
  includeDisabled: Type.Optional(Type.Boolean({ default: true })),
});
