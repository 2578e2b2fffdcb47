/**
 * The channels this process can use, from the configuration. A channel whose credentials
 * are missing is simply off (said once at start); nothing else depends on it.
 */
import type { Config } from '../config.ts';
import { emailChannel } from './email.ts';
import type { SlackInteractionSettings } from './slack-interactions.ts';
import { slackChannel } from './slack.ts';
import type { ChannelAdapter, ChannelDefaults, ChannelType } from './types.ts';

export interface Channels {
  adapters: Partial<Record<ChannelType, ChannelAdapter>>;
  defaults: ChannelDefaults;
  /** Public base URL for dashboard and decision links. */
  baseUrl: string;
}

export interface LogLike {
  info(obj: object, msg?: string): void;
}

export const emptyChannels = (baseUrl = 'http://localhost:3000'): Channels => ({ adapters: {}, defaults: { email: [] }, baseUrl });

export const enabledChannels = (channels: Channels) => new Set(Object.keys(channels.adapters) as ChannelType[]);

export const splitList = (value: string | undefined) => (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export function channelsFromConfig(config: Config, log?: LogLike): Channels {
  const adapters: Channels['adapters'] = {};
  const off: Record<string, string> = {};
  const defaults: ChannelDefaults = {
    ...(config.SLACK_DEFAULT_CHANNEL ? { slack: config.SLACK_DEFAULT_CHANNEL } : {}),
    ...(config.DISCORD_DEFAULT_CHANNEL ? { discord: config.DISCORD_DEFAULT_CHANNEL } : {}),
    email: splitList(config.EMAIL_DEFAULT_TO).map((e) => e.toLowerCase()),
  };
  if (config.SLACK_BOT_TOKEN) {
    adapters.slack = slackChannel({
      botToken: config.SLACK_BOT_TOKEN, apiUrl: config.SLACK_API_URL, defaultChannel: config.SLACK_DEFAULT_CHANNEL, timeoutMs: config.CHANNEL_TIMEOUT_MS,
    });
  } else off.slack = 'SLACK_BOT_TOKEN is not set';
  if (config.SMTP_URL || config.SMTP_HOST) {
    adapters.email = emailChannel({
      url: config.SMTP_URL, host: config.SMTP_HOST, port: config.SMTP_PORT, user: config.SMTP_USER, pass: config.SMTP_PASS,
      from: config.SMTP_FROM, defaultTo: defaults.email, timeoutMs: config.CHANNEL_TIMEOUT_MS,
    });
  } else off.email = 'SMTP_URL or SMTP_HOST is not set';
  const baseUrl = (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '');
  log?.info({ on: Object.keys(adapters), off }, 'notification channels');
  return { adapters, defaults, baseUrl };
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
