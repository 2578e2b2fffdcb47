import { Type, type Static } from '@sinclair/typebox';
import { Nullable, Timestamp } from '../http/schemas.ts';
import { CHANNEL_TYPES } from './types.ts';

export const ChannelTypeSchema = Type.Union(CHANNEL_TYPES.map((c) => Type.Literal(c)));

export const ChannelParams = Type.Object({ type: Type.String({ maxLength: 32, description: 'slack, discord or email' }) });

const LastDelivery = Type.Object({
  requestId: Type.String(),
  destination: Type.String({ description: 'The destination key, e.g. "slack:#approvals" or "email:alice@example.com"' }),
  status: Type.Union(['planned', 'posted', 'failed', 'updated'].map((s) => Type.Literal(s)), {
    description: 'planned: not sent yet; posted: the message is out; failed: the last attempt failed (retrying with backoff); updated: shows the outcome',
  }),
  attempts: Type.Integer(),
  error: Nullable(Type.String(), { description: 'The last attempt\'s error' }),
  at: Timestamp,
}, { description: 'The most recent notification through this channel' });

export const ChannelTest = Type.Object({
  id: Type.String({ description: 'tst_…' }),
  channel: ChannelTypeSchema,
  status: Type.Union([Type.Literal('queued'), Type.Literal('sent'), Type.Literal('failed')]),
  target: Nullable(Type.String()),
  messageId: Nullable(Type.String()),
  error: Nullable(Type.String()),
  requestedAt: Timestamp,
  finishedAt: Nullable(Timestamp),
}, { $id: 'ChannelTest' });
export type ChannelTest = Static<typeof ChannelTest>;

export const ChannelInfo = Type.Object({
  type: ChannelTypeSchema,
  enabled: Type.Boolean({ description: 'Configured with credentials in this server\'s environment' }),
  reason: Nullable(Type.String(), { description: 'Why it is off' }),
  defaultTarget: Nullable(Type.String({ description: 'Where its test messages and the configured default notifications go' })),
  lastDelivery: Nullable(LastDelivery),
  lastTest: Nullable(ChannelTest),
}, { $id: 'Channel' });
export type ChannelInfo = Static<typeof ChannelInfo>;

export const ChannelList = Type.Object({ channels: Type.Array(ChannelInfo) });
