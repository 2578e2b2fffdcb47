/**
 * One small interface for every channel (Slack, Discord, email): render a request into a
 * message and post it, update it once the request is over, send a test. Inbound clicks
 * and links become `decideFromChannel` calls (requests/commands.ts), so every channel is
 * judged by the same decide case as the API.
 */
import type { ApprovalRequest } from '../requests/schemas.ts';

export const CHANNEL_TYPES = ['slack', 'discord', 'email'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** Where one message goes: a Slack channel or user, a Discord channel or user, an email address. */
export interface Destination {
  /** `${channel}:${target}`: the job key and the key of the message in the log. */
  key: string;
  channel: ChannelType;
  target: string;
  /** Set when the destination came from a group member (their direct messages). */
  reviewerId?: string;
}

/** What a channel's API answered for a posted message; enough to update it later. */
export interface PostedMessage {
  messageId: string;
  /** Channel specifics (Slack's channel id for chat.update, Discord's channel id). */
  ref: Record<string, string>;
}

/** A request as a message shows it, with where its page is. */
export interface RequestView {
  request: ApprovalRequest;
  /** The request in the dashboard. */
  dashboardUrl: string;
  /** This recipient's own one-use decision links (email). */
  links?: { approve: string; deny: string };
}

export interface ChannelAdapter {
  readonly type: ChannelType;
  /** Posts the request with Approve and Deny; throws on failure (the job retries). */
  post(view: RequestView, destination: Destination): Promise<PostedMessage>;
  /**
   * The message an earlier attempt posted to this destination, when the channel took it but
   * the attempt died before its id was recorded; null when there is none. `attempts` spans
   * when the earlier attempts began. Throws LookupUnavailable (earlier-post.ts) when the
   * channel cannot be searched (a missing scope, say): the job then posts, and logs why.
   * Present where a channel can find its own messages (Slack, by their metadata); each of its
   * attempts is recorded before it posts. Discord needs none (its nonce), email has none.
   */
  findPosted?(view: RequestView, destination: Destination, attempts: { first: Date; last: Date }): Promise<PostedMessage | null>;
  /**
   * Shows the outcome and removes the buttons. Absent when a sent message cannot change
   * (email: its links stop working instead).
   */
  update?(view: RequestView, destination: Destination, posted: PostedMessage): Promise<void>;
  /**
   * Sends a one-off message to one person (a dashboard sign-in link); absent where a
   * channel has no such thing. Throws on failure (the job retries).
   */
  direct?(to: string, message: DirectMessage): Promise<{ messageId: string }>;
  /** Sends a test message to the default destination; returns what it reached. */
  test(): Promise<{ target: string; messageId: string }>;
  /** Releases connections (Socket Mode, SMTP pool). */
  close?(): Promise<void>;
}

export interface DirectMessage {
  subject: string;
  text: string;
  html?: string;
}

export interface ChannelDefaults {
  slack?: string;
  discord?: string;
  email: string[];
}
