/** Who caused an event. The recorded decider is always an authenticated principal. */
export interface Actor {
  type: 'key' | 'reviewer' | 'system' | 'policy' | 'override';
  id: string;
  name: string;
  /** A reviewer acting through a channel: which one, and the channel's own user id (Slack U…, Discord snowflake, email address). */
  channel?: Channel;
  externalId?: string;
  /** A reviewer acting through the API key linked to them: that key. */
  keyId?: string;
}

export type Channel = 'api' | 'dashboard' | 'slack' | 'discord' | 'email' | 'cli' | 'mcp' | 'worker' | 'system';

export interface EventMetadata {
  actor: Actor;
  channel: Channel;
  requestId?: string;
  ip?: string;
  correlationId?: string;
  causationId?: string;
}

/** An event as a decider produces it: a type and the facts, nothing more. */
export interface NewEvent<T extends string = string, D extends object = object> {
  type: T;
  data: D;
}

export type StreamType = 'request' | 'policy' | 'apikey' | 'webhook' | 'reviewer' | 'override' | 'channel';

/** An event as stored in the log. */
export interface StoredEvent {
  position: number;
  txId: string;
  streamId: string;
  streamType: string;
  version: number;
  type: string;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  recordedAt: Date;
}

export const streamId = (type: StreamType, id: string) => `${type}-${id}`;
