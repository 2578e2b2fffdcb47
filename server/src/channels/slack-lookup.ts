/**
 * Slack, finding a message it already has. chat.postMessage has no idempotency key: when
 * Slack takes a post and the worker dies before recording its `ts`, the retry would post a
 * second message. Every message carries metadata naming its request and destination; the
 * retry reads the destination's history around the earlier attempts (conversations.history
 * with include_all_metadata, between the first attempt and the last one's timeout) and
 * adopts the message it finds.
 *
 * Scopes: channels:history and groups:history (public and private channels), im:history
 * (a reviewer's direct messages), channels:read and groups:read (to find a `#name`'s id among
 * the bot's channels; a destination named by id skips this). Without them Slack answers
 * `missing_scope`, and the retry posts as it did before (LookupUnavailable).
 */
import type { webApi } from '@slack/bolt';
import { LookupUnavailable } from './earlier-post.ts';
import type { Destination, PostedMessage } from './types.ts';

/** The metadata every request message is posted with. */
export const SLACK_MESSAGE_EVENT = 'agentgate_request';
export const slackMessageMetadata = (requestId: string, destinationKey: string) => ({
  event_type: SLACK_MESSAGE_EVENT, event_payload: { requestId, destination: destinationKey },
});

/** Slack's clock and ours may differ: the window is widened by this on both sides. */
const CLOCK_MARGIN_MS = 120_000;
/** Messages per history page, and pages read at most (a window is minutes wide). */
const HISTORY_PAGE = 50;
const HISTORY_PAGES = 4;
/** Channels per users.conversations page, and pages read at most, to find a `#name`. */
const CHANNELS_PAGE = 200;
const CHANNELS_PAGES = 10;

/** Slack's answers meaning this token may not look (rather than that Slack is failing). */
const NOT_PERMITTED = new Set([
  'missing_scope', 'not_in_channel', 'channel_not_found', 'no_permission', 'not_allowed_token_type', 'access_denied', 'ekm_access_denied',
]);

type Client = InstanceType<typeof webApi.WebClient>;

/** A Slack `ts` ("1716840123.001900") for a time in milliseconds. */
export const slackTs = (ms: number) => `${Math.floor(ms / 1000)}.${String((ms % 1000) * 1000).padStart(6, '0')}`;

/** Orders `ts` values exactly (seconds and microseconds as integers; a double would round). */
const tsKey = (ts: string) => {
  const [s = '0', us = '0'] = ts.split('.');
  return BigInt(s) * 1_000_000n + BigInt(us.padEnd(6, '0').slice(0, 6));
};

/** Runs a lookup call; a refusal of permission becomes LookupUnavailable, anything else is thrown as is. */
async function asking<T>(method: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const data = (err as { code?: string; data?: { error?: string; needed?: string } }).data;
    if ((err as { code?: string }).code === 'slack_webapi_platform_error' && data?.error && NOT_PERMITTED.has(data.error)) {
      throw new LookupUnavailable(`Slack answered ${method} with ${data.error}${data.needed ? ` (needs ${data.needed})` : ''}`);
    }
    throw err;
  }
}

export function slackLookup(client: Client, timeoutMs: number) {
  /** `#name` → channel id, as found among the bot's channels (a stale entry can only miss, never adopt a wrong message). */
  const channelIds = new Map<string, string>();

  /** The conversation a destination's messages are in: an id as given, a user's direct messages, or a channel by name. */
  async function conversationOf(target: string): Promise<string> {
    if (/^[CGD][A-Z0-9]{2,}$/.test(target)) return target;
    if (/^[UW][A-Z0-9]{2,}$/.test(target)) {
      const opened = await asking('conversations.open', () => client.conversations.open({ users: target }));
      if (!opened.channel?.id) throw new LookupUnavailable(`Slack opened no direct-message channel with ${target}`);
      return opened.channel.id;
    }
    const name = target.replace(/^#/, '');
    const known = channelIds.get(name);
    if (known) return known;
    let cursor: string | undefined;
    for (let page = 0; page < CHANNELS_PAGES; page++) {
      const res = await asking('users.conversations', () => client.users.conversations({
        types: 'public_channel,private_channel', exclude_archived: true, limit: CHANNELS_PAGE, ...(cursor ? { cursor } : {}),
      }));
      for (const c of res.channels ?? []) if (c.name && c.id) channelIds.set(c.name, c.id);
      const found = channelIds.get(name);
      if (found) return found;
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
    throw new LookupUnavailable(`#${name} is not among the channels the app is a member of (name it by its id, or invite the app)`);
  }

  /** The earliest message in the window that carries this request's and destination's metadata. */
  async function findPosted(requestId: string, destination: Destination, attempts: { first: Date; last: Date }): Promise<PostedMessage | null> {
    const channel = await conversationOf(destination.target);
    const oldest = slackTs(attempts.first.getTime() - CLOCK_MARGIN_MS);
    const latest = slackTs(attempts.last.getTime() + timeoutMs + CLOCK_MARGIN_MS);
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_PAGES; page++) {
      const res = await asking('conversations.history', () => client.conversations.history({
        channel, oldest, latest, inclusive: true, include_all_metadata: true, limit: HISTORY_PAGE, ...(cursor ? { cursor } : {}),
      }));
      const ours = (res.messages ?? []).filter((m) => {
        const payload = m.metadata?.event_payload as Record<string, unknown> | undefined;
        return m.ts && m.metadata?.event_type === SLACK_MESSAGE_EVENT && payload?.requestId === requestId && payload.destination === destination.key;
      });
      // Newest first; of several copies (more than one attempt got through), the first stays.
      const first = ours.map((m) => m.ts!).sort((a, b) => (tsKey(a) < tsKey(b) ? -1 : 1))[0];
      if (first) return { messageId: first, ref: { channel } };
      cursor = res.response_metadata?.next_cursor || undefined;
      if (!res.has_more || !cursor) return null;
    }
    throw new LookupUnavailable(`more than ${HISTORY_PAGE * HISTORY_PAGES} messages in ${channel} around the earlier attempts; not all were read`);
  }

  return { findPosted };
}
