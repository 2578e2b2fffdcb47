/**
 * The channels this process can use, from the configuration. A channel whose credentials
 * are missing is simply off (said once at start); nothing else depends on it.
 *
 * Each channel is one entry of CHANNEL_DEFINITIONS: how it reads its configuration, where
 * its test message goes, and how its adapter is made. A new channel adds an entry here and
 * its adapter module; the listing (GET /api/channels), the test job and the notification
 * jobs pick it up from this list.
 */
import type { Config } from '../config.ts';
import type { DiscordInteractionSettings } from './discord-interactions.ts';
import { discordChannel } from './discord.ts';
import { emailChannel } from './email.ts';
import type { SlackInteractionSettings } from './slack-interactions.ts';
import { slackChannel } from './slack.ts';
import type { ChannelAdapter, ChannelDefaults, ChannelType } from './types.ts';

export interface ChannelDefinition {
  type: ChannelType;
  /** Why the channel is off (its credentials are missing); null when it can be used. */
  offReason(config: Config): string | null;
  /** Where its test message and unaddressed notifications go (display form), if anywhere. */
  defaultTarget(config: Config): string | null;
  create(config: Config, defaults: ChannelDefaults): ChannelAdapter;
}

export const splitList = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);

const defaultEmails = (config: Config) => splitList(config.EMAIL_DEFAULT_TO).map((e) => e.toLowerCase());

export const CHANNEL_DEFINITIONS: ChannelDefinition[] = [
  {
    type: 'slack',
    offReason: (c) => (c.SLACK_BOT_TOKEN ? null : 'SLACK_BOT_TOKEN is not set'),
    defaultTarget: (c) => c.SLACK_DEFAULT_CHANNEL ?? null,
    create: (c) => slackChannel({
      botToken: c.SLACK_BOT_TOKEN!, apiUrl: c.SLACK_API_URL, defaultChannel: c.SLACK_DEFAULT_CHANNEL, timeoutMs: c.CHANNEL_TIMEOUT_MS,
    }),
  },
  {
    type: 'discord',
    offReason: (c) => (c.DISCORD_BOT_TOKEN ? null : 'DISCORD_BOT_TOKEN is not set'),
    defaultTarget: (c) => c.DISCORD_DEFAULT_CHANNEL ?? null,
    create: (c) => discordChannel({
      botToken: c.DISCORD_BOT_TOKEN!, apiUrl: c.DISCORD_API_URL, defaultChannel: c.DISCORD_DEFAULT_CHANNEL, timeoutMs: c.CHANNEL_TIMEOUT_MS,
    }),
  },
  {
    type: 'email',
    offReason: (c) => (c.SMTP_URL || c.SMTP_HOST ? null : 'SMTP_URL or SMTP_HOST is not set'),
    defaultTarget: (c) => defaultEmails(c).join(', ') || null,
    create: (c, defaults) => emailChannel({
      url: c.SMTP_URL, host: c.SMTP_HOST, port: c.SMTP_PORT, user: c.SMTP_USER, pass: c.SMTP_PASS,
      from: c.SMTP_FROM, defaultTo: defaults.email, timeoutMs: c.CHANNEL_TIMEOUT_MS, poolSize: c.SMTP_POOL_SIZE,
    }),
  },
];

/** What the API tells about a channel of this process's configuration. */
export interface ChannelSetting {
  type: ChannelType;
  enabled: boolean;
  /** Why it is off; null when on. */
  reason: string | null;
  defaultTarget: string | null;
}

export interface Channels {
  adapters: Partial<Record<ChannelType, ChannelAdapter>>;
  defaults: ChannelDefaults;
  /** Public base URL for dashboard and decision links. */
  baseUrl: string;
  /** Every known channel, on or off, as configured (for GET /api/channels). */
  settings?: ChannelSetting[];
}

export interface LogLike {
  info(obj: object, msg?: string): void;
}

export const emptyChannels = (baseUrl = 'http://localhost:3000'): Channels => ({ adapters: {}, defaults: { email: [] }, baseUrl });

export const enabledChannels = (channels: Channels) => new Set(Object.keys(channels.adapters) as ChannelType[]);

export function channelsFromConfig(config: Config, log?: LogLike, definitions: readonly ChannelDefinition[] = CHANNEL_DEFINITIONS): Channels {
  const adapters: Channels['adapters'] = {};
  const off: Record<string, string> = {};
  const settings: ChannelSetting[] = [];
  const defaults: ChannelDefaults = {
    ...(config.SLACK_DEFAULT_CHANNEL ? { slack: config.SLACK_DEFAULT_CHANNEL } : {}),
    ...(config.DISCORD_DEFAULT_CHANNEL ? { discord: config.DISCORD_DEFAULT_CHANNEL } : {}),
    email: defaultEmails(config),
  };
  for (const def of definitions) {
    const reason = def.offReason(config);
    if (reason) off[def.type] = reason;
    else adapters[def.type] = def.create(config, defaults);
    settings.push({ type: def.type, enabled: !reason, reason, defaultTarget: def.defaultTarget(config) });
  }
  // Discord messages go out with the bot token; answering their buttons needs the public key.
  if (adapters.discord && !config.DISCORD_PUBLIC_KEY) off['discord clicks'] = 'DISCORD_PUBLIC_KEY is not set: messages are posted, clicks are refused';
  const baseUrl = (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '');
  log?.info({ on: Object.keys(adapters), off }, 'notification channels');
  return { adapters, defaults, baseUrl, settings };
}

/** The settings of a hand-made Channels (tests, embedders): its adapters are on, the rest off. */
export function channelSettings(channels: Channels, definitions: readonly ChannelDefinition[] = CHANNEL_DEFINITIONS): ChannelSetting[] {
  if (channels.settings) return channels.settings;
  return definitions.map((def) => {
    const on = Boolean(channels.adapters[def.type]);
    const target = def.type === 'email' ? channels.defaults.email.join(', ') || null : channels.defaults[def.type] ?? null;
    return { type: def.type, enabled: on, reason: on ? null : 'not configured', defaultTarget: target };
  });
}

export async function closeChannels(channels: Channels): Promise<void> {
  await Promise.allSettled(Object.values(channels.adapters).map((a) => a.close?.()));
}

/** What the server needs to take Slack clicks: HTTP (signing secret) and/or Socket Mode (app token). */
export function slackInteractionSettings(config: Config): SlackInteractionSettings | undefined {
  if (!config.SLACK_BOT_TOKEN || (!config.SLACK_SIGNING_SECRET && !config.SLACK_APP_TOKEN)) return undefined;
  return {
    botToken: config.SLACK_BOT_TOKEN,
    ...(config.SLACK_SIGNING_SECRET ? { signingSecret: config.SLACK_SIGNING_SECRET } : {}),
    ...(config.SLACK_APP_TOKEN ? { appToken: config.SLACK_APP_TOKEN } : {}),
    ...(config.SLACK_API_URL ? { apiUrl: config.SLACK_API_URL } : {}),
  };
}

/** What the server needs to take Discord clicks: the application's public key (and a bot to post the messages). */
export function discordInteractionSettings(config: Config): DiscordInteractionSettings | undefined {
  if (!config.DISCORD_BOT_TOKEN || !config.DISCORD_PUBLIC_KEY) return undefined;
  return { publicKey: config.DISCORD_PUBLIC_KEY };
}
