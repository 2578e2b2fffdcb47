/**
 * Slack, outbound: chat.postMessage and chat.update through the Web API client that
 * @slack/bolt ships (SLACK_API_URL points it at a proxy or a local stand-in), and the
 * history lookup that lets a retry adopt a post whose ts never got recorded (slack-lookup.ts).
 */
import { webApi } from '@slack/bolt';
import { slackLookup, slackMessageMetadata } from './slack-lookup.ts';
import { slackBlocks } from './slack-messages.ts';
import type { ChannelAdapter, Destination, PostedMessage, RequestView } from './types.ts';

export interface SlackSettings {
  botToken: string;
  apiUrl?: string;
  defaultChannel?: string;
  timeoutMs: number;
}

export const slackClient = (s: Pick<SlackSettings, 'botToken' | 'apiUrl' | 'timeoutMs'>) =>
  new webApi.WebClient(s.botToken, {
    ...(s.apiUrl ? { slackApiUrl: s.apiUrl } : {}),
    timeout: s.timeoutMs,
    // Retries are the job's (each attempt recorded), not the client's.
    retryConfig: { retries: 0 },
    logLevel: webApi.LogLevel.ERROR,
  });

export function slackChannel(settings: SlackSettings): ChannelAdapter {
  const client = slackClient(settings);
  const lookup = slackLookup(client, settings.timeoutMs);
  return {
    type: 'slack',
    async post(view: RequestView, destination: Destination): Promise<PostedMessage> {
      const { text, blocks } = slackBlocks(view);
      const res = await client.chat.postMessage({
        channel: destination.target, text, blocks, unfurl_links: false,
        // Which request and destination a message is: how a retry finds a post whose ts was never recorded.
        metadata: slackMessageMetadata(view.request.id, destination.key),
      });
      if (!res.ts || !res.channel) throw new Error('Slack answered chat.postMessage without ts or channel');
      // chat.update needs the channel id, which a "#name" target is not.
      return { messageId: res.ts, ref: { channel: res.channel } };
    },
    findPosted: (view, destination, attempts) => lookup.findPosted(view.request.id, destination, attempts),
    async update(view: RequestView, _destination: Destination, posted: PostedMessage): Promise<void> {
      const { text, blocks } = slackBlocks(view);
      await client.chat.update({ channel: posted.ref.channel!, ts: posted.messageId, text, blocks });
    },
    async test() {
      if (!settings.defaultChannel) throw new Error('SLACK_DEFAULT_CHANNEL is not set: nowhere to send a test message');
      const res = await client.chat.postMessage({ channel: settings.defaultChannel, text: 'AgentGate test message: approval requests will arrive here.' });
      return { target: settings.defaultChannel, messageId: res.ts ?? '' };
    },
  };
}
