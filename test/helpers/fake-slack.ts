/**
 * A local stand-in for Slack's Web API at its documented paths (/api/<method>), answering
 * the methods AgentGate calls as Slack does (form-encoded or JSON bodies; `blocks` arrives as
 * a JSON string), and a signer for interaction payloads as Slack signs them.
 *
 * Posted messages are kept per conversation, with `ts` from the clock as Slack makes them, so
 * conversations.history answers as Slack does: the messages between `oldest` and `latest`
 * (exclusive unless `inclusive`), newest first, `limit` at a time with a `next_cursor`, and
 * each message's `metadata` only when `include_all_metadata` is asked for. A post to `#name`
 * lands in channel `C0NAME`, a post to a user `U…` in their direct-message channel `D…`
 * (what conversations.open answers); users.conversations lists the channels the app is in
 * (those posted to, and those named when the stand-in is made).
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  /** When it arrived (Date.now()). */
  at: number;
}

export interface FakeSlack {
  apiUrl: string;
  calls: SlackCall[];
  posted(): SlackCall[];
  updates(): SlackCall[];
  /** Hold the next chat.postMessage answers until released (the message is kept, the answer waits). */
  holdPosts(): () => void;
  /**
   * Hold posts to one channel *before* Slack takes them: the message exists only once
   * released; a caller that hangs up meanwhile (a killed worker) leaves no message, as when
   * Slack never got the request. Returns the release; `waiting()` counts the held posts.
   */
  holdPostsTo(channel: string): { release(): void; waiting(): number; abandoned(): number };
  /**
   * Take posts to one channel — the message is in Slack, in its history — but hold the answer
   * until released; a caller that hangs up meanwhile (a killed worker) never learns its ts.
   */
  holdAnswersTo(channel: string): { release(): void; waiting(): number };
  /** The messages in a conversation (by id), oldest first. */
  history(channelId: string): StoredSlackMessage[];
  /** Answer these scopes' methods with `missing_scope`, as for an app installed without them. */
  withoutScopes(...scopes: string[]): void;
  /** What apps.connections.open answers (Socket Mode): the WebSocket a test serves. */
  socketUrl: string | null;
  /**
   * Refuse the next `times` calls of `method` with 429 and `Retry-After: seconds`, as Slack's
   * rate limits do: a refused call is not carried out (nor kept in `calls`); `refused` lists
   * them, with when each was answered.
   */
  rateLimit(method: string, times: number, retryAfterSeconds: number): { refused: SlackCall[] };
}

export interface StoredSlackMessage {
  ts: string;
  text: unknown;
  blocks: unknown;
  metadata: { event_type: string; event_payload: Record<string, unknown> } | null;
}

/** The scope each method needs for a conversation of this id (channels, private channels, direct messages). */
const historyScope = (id: string) => (id.startsWith('D') ? 'im:history' : id.startsWith('G') ? 'groups:history' : 'channels:history');

/** The conversation a chat.postMessage `channel` lands in. */
const conversationId = (channel: string) => channel.startsWith('#')
  ? `C0${channel.slice(1).toUpperCase().replace(/[^A-Z0-9]/g, '')}`
  : /^[UW]/.test(channel) ? `D${channel.slice(1)}` : channel;

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const type = String(req.headers['content-type'] ?? '');
  const args: Record<string, unknown> = type.includes('json') ? JSON.parse(text || '{}') : Object.fromEntries(new URLSearchParams(text));
  for (const k of ['blocks', 'view', 'metadata']) if (typeof args[k] === 'string') args[k] = JSON.parse(args[k] as string);
  return args;
}

/** `channels`: names of channels the app is a member of from the start (others join when first posted to). */
export async function fakeSlack(t: Test, opts: { channels?: string[] } = {}): Promise<FakeSlack> {
  const calls: SlackCall[] = [];
  // Microseconds since the epoch of the last ts handed out: from the clock, and always increasing.
  let lastMicros = 0;
  const nextTs = () => {
    lastMicros = Math.max(lastMicros + 1, Date.now() * 1000);
    return `${Math.floor(lastMicros / 1e6)}.${String(lastMicros % 1e6).padStart(6, '0')}`;
  };
  let held: Promise<void> | null = null;
  const before = new Map<string, { gate: Promise<void>; waiting: number; abandoned: number }>();
  const after = new Map<string, { gate: Promise<void>; waiting: number }>();
  const limits = new Map<string, { left: number; retryAfterSeconds: number; refused: SlackCall[] }>();
  const conversations = new Map<string, { name: string | null; messages: StoredSlackMessage[] }>();
  const missingScopes = new Set<string>();
  const conversation = (id: string, name: string | null = null) => {
    let c = conversations.get(id);
    if (!c) conversations.set(id, c = { name, messages: [] });
    return c;
  };
  for (const name of opts.channels ?? []) conversation(conversationId(`#${name}`), name);
  const tsKey = (ts: string) => {
    const [sec = '0', us = '0'] = ts.split('.');
    return BigInt(sec) * 1_000_000n + BigInt(us.padEnd(6, '0').slice(0, 6));
  };
  const server = createServer(async (req, res) => {
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!;
    const args = await readBody(req);
    const limit = limits.get(method);
    if (limit && limit.left > 0) {
      limit.left--;
      limit.refused.push({ method, args, at: Date.now() });
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(limit.retryAfterSeconds) });
      return res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
    }
    // The channel exists (the app is in it) whether or not this post gets through.
    if (method === 'chat.postMessage' && String(args.channel).startsWith('#')) conversation(conversationId(String(args.channel)), String(args.channel).slice(1));
    const gate = method === 'chat.postMessage' ? before.get(String(args.channel)) : undefined;
    if (gate) {
      gate.waiting++;
      const hungUp = new Promise<'gone'>((resolve) => res.once('close', () => resolve('gone')));
      const outcome = await Promise.race([gate.gate.then(() => 'go' as const), hungUp]);
      gate.waiting--;
      if (outcome === 'gone') { gate.abandoned++; return; }
    }
    calls.push({ method, args, at: Date.now() });
    const reply = (body: object) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ ok: true, ...body })); };
    const fail = (error: string, extra: object = {}) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ ok: false, error, ...extra })); };
    const needs = (scope: string) => {
      if (!missingScopes.has(scope)) return false;
      fail('missing_scope', { needed: scope, provided: 'chat:write,chat:write.public,im:write' });
      return true;
    };
    switch (method) {
      case 'auth.test':
        return reply({ url: 'https://example.slack.com/', team: 'Example', user: 'agentgate', team_id: 'T0EXAMPLE', user_id: 'U0BOT', bot_id: 'B0BOT' });
      case 'chat.postMessage': {
        const channel = String(args.channel);
        const id = conversationId(channel);
        const messageTs = nextTs();
        const metadata = args.metadata && typeof args.metadata === 'object' ? args.metadata as StoredSlackMessage['metadata'] : null;
        conversation(id).messages.push({ ts: messageTs, text: args.text, blocks: args.blocks, metadata });
        if (held) await held;
        const answerGate = after.get(channel);
        if (answerGate) {
          answerGate.waiting++;
          await answerGate.gate;
          answerGate.waiting--;
        }
        return reply({ channel: id, ts: messageTs, message: { ts: messageTs, text: args.text } });
      }
      case 'chat.update': {
        const stored = conversations.get(String(args.channel))?.messages.find((m) => m.ts === args.ts);
        if (!stored) return fail('message_not_found');
        stored.text = args.text;
        stored.blocks = args.blocks;
        return reply({ channel: args.channel, ts: args.ts });
      }
      case 'conversations.open': {
        const user = String(args.users ?? '');
        if (!/^[UW]/.test(user)) return fail('user_not_found');
        const id = conversationId(user);
        conversation(id);
        return reply({ channel: { id } });
      }
      case 'users.conversations': {
        if (needs('channels:read')) return;
        const channels = [...conversations.entries()].filter(([, c]) => c.name !== null).map(([id, c]) => ({ id, name: c.name, is_channel: true, is_member: true }));
        return reply({ channels, response_metadata: { next_cursor: '' } });
      }
      case 'conversations.history': {
        const id = String(args.channel);
        if (needs(historyScope(id))) return;
        const c = conversations.get(id);
        if (!c) return fail('channel_not_found');
        const inclusive = args.inclusive === true || args.inclusive === 'true' || args.inclusive === '1';
        const within = (ts: string) => {
          const k = tsKey(ts);
          if (args.oldest !== undefined && (inclusive ? k < tsKey(String(args.oldest)) : k <= tsKey(String(args.oldest)))) return false;
          if (args.latest !== undefined && (inclusive ? k > tsKey(String(args.latest)) : k >= tsKey(String(args.latest)))) return false;
          return true;
        };
        const all = c.messages.filter((m) => within(m.ts)).reverse();
        const start = args.cursor ? Number(Buffer.from(String(args.cursor), 'base64url').toString()) : 0;
        const limit = Math.min(Number(args.limit ?? 100), 999);
        const page = all.slice(start, start + limit);
        const more = start + limit < all.length;
        const withMetadata = args.include_all_metadata === true || args.include_all_metadata === 'true' || args.include_all_metadata === '1';
        return reply({
          messages: page.map((m) => ({
            type: 'message', subtype: 'bot_message', bot_id: 'B0BOT', ts: m.ts, text: m.text, blocks: m.blocks,
            ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
          })),
          has_more: more,
          response_metadata: { next_cursor: more ? Buffer.from(String(start + limit)).toString('base64url') : '' },
        });
      }
      case 'chat.postEphemeral':
        return reply({ message_ts: nextTs() });
      case 'apps.connections.open':
        if (!api.socketUrl) { res.writeHead(200, { 'content-type': 'application/json' }); return res.end(JSON.stringify({ ok: false, error: 'not_allowed_token_type' })); }
        return reply({ url: api.socketUrl });
      case 'views.open':
        return reply({ view: { id: 'V0MODAL' } });
      default:
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ ok: false, error: 'unknown_method' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }));
  const port = (server.address() as AddressInfo).port;
  const api: FakeSlack = {
    socketUrl: null,
    apiUrl: `http://127.0.0.1:${port}/api/`,
    calls,
    posted: () => calls.filter((c) => c.method === 'chat.postMessage'),
    updates: () => calls.filter((c) => c.method === 'chat.update'),
    history: (channelId) => [...(conversations.get(channelId)?.messages ?? [])],
    withoutScopes(...scopes) {
      for (const s of scopes) missingScopes.add(s);
    },
    holdAnswersTo(channel) {
      let release!: () => void;
      const entry = { gate: new Promise<void>((r) => { release = r; }), waiting: 0 };
      after.set(channel, entry);
      return { release: () => { after.delete(channel); release(); }, waiting: () => entry.waiting };
    },
    holdPostsTo(channel) {
      let release!: () => void;
      const entry = { gate: new Promise<void>((r) => { release = r; }), waiting: 0, abandoned: 0 };
      before.set(channel, entry);
      return {
        release: () => { before.delete(channel); release(); },
        waiting: () => entry.waiting,
        abandoned: () => entry.abandoned,
      };
    },
    rateLimit(method, times, retryAfterSeconds) {
      const limit = { left: times, retryAfterSeconds, refused: [] as SlackCall[] };
      limits.set(method, limit);
      return { refused: limit.refused };
    },
    holdPosts() {
      let release!: () => void;
      held = new Promise((r) => { release = r; });
      return () => { held = null; release(); };
    },
  };
  return api;
}

/** Headers and body of an interaction as Slack sends it, signed with `secret` at `timestamp` (seconds). */
export function signedSlackRequest(secret: string, payload: object, timestamp = Math.floor(Date.now() / 1000)) {
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature },
  };
}

export function blockAction(user: string, actionId: string, requestId: string, message: { channel: string; ts: string }) {
  return {
    type: 'block_actions', token: 'verification-token', api_app_id: 'A0APP', trigger_id: `trigger-${Date.now()}`,
    team: { id: 'T0EXAMPLE', domain: 'example' }, user: { id: user, username: user, team_id: 'T0EXAMPLE' },
    channel: { id: message.channel, name: 'approvals' }, container: { type: 'message', message_ts: message.ts, channel_id: message.channel },
    message: { ts: message.ts, type: 'message' },
    actions: [{ type: 'button', action_id: actionId, block_id: 'agentgate_decision', value: requestId, action_ts: `${Date.now() / 1000}` }],
  };
}

export function viewSubmission(user: string, privateMetadata: string, reason: string) {
  return {
    type: 'view_submission', token: 'verification-token', api_app_id: 'A0APP', trigger_id: `trigger-${Date.now()}`,
    team: { id: 'T0EXAMPLE', domain: 'example' }, user: { id: user, username: user, team_id: 'T0EXAMPLE' },
    view: {
      id: 'V0MODAL', team_id: 'T0EXAMPLE', type: 'modal', callback_id: 'agentgate_reason', private_metadata: privateMetadata,
      state: { values: { reason: { reason: { type: 'plain_text_input', value: reason } } } }, hash: 'h', app_id: 'A0APP',
    },
  };
}
