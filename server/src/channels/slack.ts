/**
 * Slack, outbound: chat.postMessage and chat.update through the Web API client that
 * @slack/bolt ships (SLACK_API_URL points it at a proxy or a local stand-in), and the
 * history lookup that lets a retry adopt a post whose ts never got recorded (slack-lookup.ts).
 * The client sends through fetch, whose connections to Slack are kept alive and reused.
 *
 * Rate limits: Slack refuses a call with 429 and Retry-After (chat.postMessage allows about
 * one message a second per channel, with short bursts). The refused call was not carried
 * out; it is made again after the pause, and no other call of the same method leaves this
 * process before the pause ends (retry-after.ts). A pause that would hold a call longer
 * than a minute fails the job's attempt instead, recorded and retried later.
 */
import { webApi } from '@slack/bolt';
import { RetryAfterGate } from './retry-after.ts';
import { slackLookup, slackMessageMetadata } from './slack-lookup.ts';
import { slackBlocks } from './slack-messages.ts';
import type { ChannelAdapter, Destination, PostedMessage, RequestView } from './types.ts';

/** The longest a call waits out Slack's rate limit before its job's attempt fails instead. */
export const SLACK_RATE_LIMIT_MAX_WAIT_MS = 60_000;

/** The pause a refused call asks for, in ms (at least a second); null when `err` is no rate limit. */
export function slackRetryAfterMs(err: unknown): number | null {
  const e = err as { code?: string; retryAfter?: number } | null;
  if (e?.code !== webApi.ErrorCode.RateLimitedError || typeof e.retryAfter !== 'number') return null;
  return Math.max(1, e.retryAfter) * 1000;
}

export interface SlackSettings {
  botToken: string;
  apiUrl?: string;
  defaultChannel?: string;
  timeoutMs: number;
  /** The longest a call waits out a rate limit (default SLACK_RATE_LIMIT_MAX_WAIT_MS). */
  rateLimitMaxWaitMs?: number;
}

export const slackClient = (s: Pick<SlackSettings, 'botToken' | 'apiUrl' | 'timeoutMs'>) =>
  new webApi.WebClient(s.botToken, {
    ...(s.apiUrl ? { slackApiUrl: s.apiUrl } : {}),
    timeout: s.timeoutMs,
    // Retries are the job's (each attempt recorded), not the client's.
    retryConfig: { retries: 0 },
    // A 429 comes back at once as a rate-limited error (with its Retry-After), for the
    // adapter's gate to wait out, instead of pausing inside the client and failing after.
    rejectRateLimitedCalls: true,
    logLevel: webApi.LogLevel.ERROR,
  });

export function slackChannel(settings: SlackSettings): ChannelAdapter {
  const client = slackClient(settings);
  const lookup = slackLookup(client, settings.timeoutMs);
  const gate = new RetryAfterGate({ maxWaitMs: settings.rateLimitMaxWaitMs ?? SLACK_RATE_LIMIT_MAX_WAIT_MS, retryAfterMs: slackRetryAfterMs });
  return {
    type: 'slack',
    async post(view: RequestView, destination: Destination): Promise<PostedMessage> {
      const { text, blocks } = slackBlocks(view);
      const res = await gate.run('chat.postMessage', () => client.chat.postMessage({
        channel: destination.target, text, blocks, unfurl_links: false,
        // Which request and destination a message is: how a retry finds a post whose ts was never recorded.
        metadata: slackMessageMetadata(view.request.id, destination.key),
      }));
      if (!res.ts || !res.channel) throw new Error('Slack answered chat.postMessage without ts or channel');
      // chat.update needs the channel id, which a "#name" target is not.
      return { messageId: res.ts, ref: { channel: res.channel } };
    },
    // Read-only, so a lookup that meets a rate limit is simply made again after the pause.
    findPosted: (view, destination, attempts) => gate.run('history lookup', () => lookup.findPosted(view.request.id, destination, attempts)),
    async update(view: RequestView, _destination: Destination, posted: PostedMessage): Promise<void> {
      const { text, blocks } = slackBlocks(view);
      await gate.run('chat.update', () => client.chat.update({ channel: posted.ref.channel!, ts: posted.messageId, text, blocks }));
    },
    async test() {
      if (!settings.defaultChannel) throw new Error('SLACK_DEFAULT_CHANNEL is not set: nowhere to send a test message');
      const res = await gate.run('chat.postMessage', () => client.chat.postMessage({ channel: settings.defaultChannel!, text: 'AgentGate test message: approval requests will arrive here.' }));
      return { target: settings.defaultChannel, messageId: res.ts ?? '' };
    },
  };
}
