/**
 * A local stand-in for Discord's REST API (v10) at its documented paths: create and edit a
 * channel message, open a direct-message channel. Like Discord it wants `Authorization: Bot
 * <token>`, gives messages snowflake ids, and answers a repeated post whose nonce it has seen
 * (with `enforce_nonce`) with the first message. Also: an application keypair, and signed
 * interaction payloads as Discord sends them to an interactions endpoint.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

export interface DiscordCall {
  method: string;
  path: string;
  body: Record<string, unknown>;
  authorization: string;
}

export interface StoredMessage {
  id: string;
  channel_id: string;
  content: string;
  embeds: Array<{ title?: string; description?: string; url?: string; footer?: { text: string }; fields?: Array<{ name: string; value: string }> }>;
  components: Array<{ type: number; components: Array<{ type: number; style: number; label?: string; custom_id?: string; url?: string }> }>;
  nonce?: string;
}

export interface FakeDiscord {
  /** The REST base to configure (DISCORD_API_URL); the client adds /v10. */
  apiUrl: string;
  calls: DiscordCall[];
  messages: Map<string, StoredMessage>;
  posts(): DiscordCall[];
  edits(): DiscordCall[];
}

let sequence = 0n;
/** A snowflake-shaped id (ms since the Discord epoch, shifted, plus a counter). */
const snowflake = () => (((BigInt(Date.now()) - 1420070400000n) << 22n) + (sequence++ % 4096n)).toString();

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

export async function fakeDiscord(t: Test, opts: { botToken: string }): Promise<FakeDiscord> {
  const calls: DiscordCall[] = [];
  const messages = new Map<string, StoredMessage>();
  const byNonce = new Map<string, StoredMessage>();
  const dmChannels = new Map<string, string>();

  const server = createServer(async (req, res) => {
    const reply = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const path = (req.url ?? '').split('?')[0]!.replace(/^\/api\/v10/, '');
    const body = req.method === 'GET' ? {} : await readJson(req);
    const authorization = String(req.headers.authorization ?? '');
    calls.push({ method: req.method ?? '', path, body, authorization });
    if (authorization !== `Bot ${opts.botToken}`) return reply(401, { message: '401: Unauthorized', code: 0 });

    let m: RegExpExecArray | null;
    if (req.method === 'POST' && path === '/users/@me/channels') {
      const recipient = String(body.recipient_id);
      const id = dmChannels.get(recipient) ?? snowflake();
      dmChannels.set(recipient, id);
      return reply(200, { id, type: 1, recipients: [{ id: recipient, username: `user${recipient}` }] });
    }
    if (req.method === 'POST' && (m = /^\/channels\/(\d+)\/messages$/.exec(path))) {
      const nonce = typeof body.nonce === 'string' ? body.nonce : undefined;
      const seen = nonce && body.enforce_nonce ? byNonce.get(nonce) : undefined;
      if (seen) return reply(200, seen);
      const message = { id: snowflake(), channel_id: m[1]!, content: '', embeds: [], components: [], ...body } as StoredMessage;
      messages.set(message.id, message);
      if (nonce) byNonce.set(nonce, message);
      return reply(200, message);
    }
    if (req.method === 'PATCH' && (m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path))) {
      const message = messages.get(m[2]!);
      if (!message || message.channel_id !== m[1]) return reply(404, { message: 'Unknown Message', code: 10008 });
      Object.assign(message, body);
      return reply(200, message);
    }
    return reply(404, { message: '404: Not Found', code: 0 });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  const port = (server.address() as AddressInfo).port;
  return {
    apiUrl: `http://127.0.0.1:${port}/api`,
    calls,
    messages,
    posts: () => calls.filter((c) => c.method === 'POST' && /^\/channels\/\d+\/messages$/.test(c.path)),
    edits: () => calls.filter((c) => c.method === 'PATCH' && /^\/channels\/\d+\/messages\/\d+$/.test(c.path)),
  };
}

/** An application's Ed25519 keypair; `publicKey` in hex, as the Developer Portal shows it. */
export function discordKeypair(): { publicKey: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const x = publicKey.export({ format: 'jwk' }).x!;
  return { publicKey: Buffer.from(x, 'base64url').toString('hex'), privateKey };
}

/** Headers and body of an interaction as Discord sends it, signed at `timestamp` (seconds). */
export function signedInteraction(privateKey: KeyObject, payload: object, timestamp = Math.floor(Date.now() / 1000)) {
  const body = JSON.stringify(payload);
  const signature = sign(null, Buffer.from(`${timestamp}${body}`), privateKey).toString('hex');
  return {
    body,
    headers: {
      'content-type': 'application/json', 'user-agent': 'Discord-Interactions/1.0 (+https://discord.com)',
      'x-signature-ed25519': signature, 'x-signature-timestamp': String(timestamp),
    },
  };
}

const APP_ID = '1100000000000000001';
const GUILD_ID = '1100000000000000002';

const base = (type: number, user: string, inGuild: boolean) => ({
  id: snowflake(), application_id: APP_ID, type, token: `interaction-token-${snowflake()}`, version: 1, locale: 'en-US',
  app_permissions: '0', entitlements: [], authorizing_integration_owners: {},
  ...(inGuild
    ? { guild_id: GUILD_ID, member: { user: { id: user, username: `user${user}`, discriminator: '0', global_name: null, avatar: null }, roles: [], permissions: '0', joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 } }
    : { user: { id: user, username: `user${user}`, discriminator: '0', global_name: null, avatar: null } }),
});

export const ping = () => ({ id: snowflake(), application_id: APP_ID, type: 1, token: 'ping-token', version: 1 });

/** A button click (MESSAGE_COMPONENT) on `message`. */
export function buttonClick(user: string, customId: string, message: { id: string; channel_id: string }, opts: { inGuild?: boolean } = {}) {
  return {
    ...base(3, user, opts.inGuild ?? true),
    channel_id: message.channel_id,
    channel: { id: message.channel_id, type: opts.inGuild === false ? 1 : 0 },
    message: { id: message.id, channel_id: message.channel_id, content: '', embeds: [], components: [], type: 0 },
    data: { custom_id: customId, component_type: 2 },
  };
}

/** A submitted modal (MODAL_SUBMIT) opened from a button on `message`. */
export function modalSubmit(user: string, customId: string, reason: string, message: { id: string; channel_id: string }) {
  return {
    ...base(5, user, true),
    channel_id: message.channel_id,
    channel: { id: message.channel_id, type: 0 },
    message: { id: message.id, channel_id: message.channel_id, content: '', embeds: [], components: [], type: 0 },
    data: { custom_id: customId, components: [{ type: 1, components: [{ type: 4, custom_id: 'reason', value: reason }] }] },
  };
}
