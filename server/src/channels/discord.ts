/**
 * Discord, outbound: messages posted and edited with the bot token through @discordjs/rest
 * (which keeps to Discord's rate limits), at DISCORD_API_URL when set (a proxy or a local
 * stand-in). A channel destination is posted to directly; a reviewer's own destination is
 * their direct-message channel, opened first.
 */
import { createHash } from 'node:crypto';
import { REST } from '@discordjs/rest';
import { Routes, type APIChannel, type APIMessage } from 'discord-api-types/v10';
import { discordMessage } from './discord-messages.ts';
import type { ChannelAdapter, Destination, PostedMessage, RequestView } from './types.ts';

export interface DiscordSettings {
  botToken: string;
  /** REST base without the version (default https://discord.com/api). */
  apiUrl?: string;
  defaultChannel?: string;
  timeoutMs: number;
}

export const discordRest = (s: Pick<DiscordSettings, 'botToken' | 'apiUrl' | 'timeoutMs'>) =>
  new REST({
    version: '10',
    ...(s.apiUrl ? { api: s.apiUrl.replace(/\/+$/, '') } : {}),
    timeout: s.timeoutMs,
    // Retries are the job's (each attempt recorded), not the client's.
    retries: 0,
  }).setToken(s.botToken);

/**
 * The same request and destination always carry the same nonce; with `enforce_nonce`, Discord
 * answers a repeated post (a worker killed before recording the message id) with the message
 * it already made instead of a second one. At most 25 characters.
 */
export const messageNonce = (requestId: string, destinationKey: string) =>
  createHash('sha256').update(`${requestId}\n${destinationKey}`).digest('base64url').slice(0, 25);

export function discordChannel(settings: DiscordSettings): ChannelAdapter {
  const rest = discordRest(settings);
  // A reviewer's direct-message channel, opened once per process.
  const dmChannels = new Map<string, string>();
  const channelFor = async (destination: Destination): Promise<string> => {
    if (!destination.reviewerId) return destination.target;
    const known = dmChannels.get(destination.target);
    if (known) return known;
    const dm = await rest.post(Routes.userChannels(), { body: { recipient_id: destination.target } }) as APIChannel;
    dmChannels.set(destination.target, dm.id);
    return dm.id;
  };

  return {
    type: 'discord',
    async post(view: RequestView, destination: Destination): Promise<PostedMessage> {
      const channelId = await channelFor(destination);
      const message = await rest.post(Routes.channelMessages(channelId), {
        body: { ...discordMessage(view), nonce: messageNonce(view.request.id, destination.key), enforce_nonce: true },
      }) as APIMessage;
      if (!message.id || !message.channel_id) throw new Error('Discord answered a posted message without its id or channel');
      return { messageId: message.id, ref: { channel: message.channel_id } };
    },
    async update(view: RequestView, _destination: Destination, posted: PostedMessage): Promise<void> {
      await rest.patch(Routes.channelMessage(posted.ref.channel!, posted.messageId), { body: discordMessage(view) });
    },
    async test() {
      if (!settings.defaultChannel) throw new Error('DISCORD_DEFAULT_CHANNEL is not set: nowhere to send a test message');
      const message = await rest.post(Routes.channelMessages(settings.defaultChannel), {
        body: { content: 'AgentGate test message: approval requests will arrive here.', allowed_mentions: { parse: [] } },
      }) as APIMessage;
      return { target: settings.defaultChannel, messageId: message.id };
    },
    async close() {
      // The client's sweeper timers would otherwise keep a stopping process alive.
      rest.clearHashSweeper();
      rest.clearHandlerSweeper();
    },
  };
}
