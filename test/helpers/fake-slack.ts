/**
 * A local stand-in for Slack's Web API at its documented paths (/api/<method>), answering
 * the methods AgentGate calls as Slack does (form-encoded or JSON bodies; `blocks` arrives as
 * a JSON string), and a signer for interaction payloads as Slack signs them.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
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
  /** What apps.connections.open answers (Socket Mode): the WebSocket a test serves. */
  socketUrl: string | null;
}

const CHANNEL_IDS: Record<string, string> = {};

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const type = String(req.headers['content-type'] ?? '');
  const args: Record<string, unknown> = type.includes('json') ? JSON.parse(text || '{}') : Object.fromEntries(new URLSearchParams(text));
  for (const k of ['blocks', 'view', 'metadata']) if (typeof args[k] === 'string') args[k] = JSON.parse(args[k] as string);
  return args;
}

export async function fakeSlack(t: Test): Promise<FakeSlack> {
  const calls: SlackCall[] = [];
  let ts = 1_700_000_000;
  let held: Promise<void> | null = null;
  const before = new Map<string, { gate: Promise<void>; waiting: number; abandoned: number }>();
  const server = createServer(async (req, res) => {
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!;
    const args = await readBody(req);
    const gate = method === 'chat.postMessage' ? before.get(String(args.channel)) : undefined;
    if (gate) {
      gate.waiting++;
      const hungUp = new Promise<'gone'>((resolve) => res.once('close', () => resolve('gone')));
      const outcome = await Promise.race([gate.gate.then(() => 'go' as const), hungUp]);
      gate.waiting--;
      if (outcome === 'gone') { gate.abandoned++; return; }
    }
    calls.push({ method, args });
    const reply = (body: object) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ ok: true, ...body })); };
    switch (method) {
      case 'auth.test':
        return reply({ url: 'https://example.slack.com/', team: 'Example', user: 'agentgate', team_id: 'T0EXAMPLE', user_id: 'U0BOT', bot_id: 'B0BOT' });
      case 'chat.postMessage': {
        const channel = String(args.channel);
        const id = channel.startsWith('#') ? (CHANNEL_IDS[channel] ??= `C0${channel.slice(1).toUpperCase().replace(/[^A-Z0-9]/g, '')}`) : channel;
        const messageTs = `${++ts}.000100`;
        if (held) await held;
        return reply({ channel: id, ts: messageTs, message: { ts: messageTs, text: args.text } });
      }
      case 'chat.update':
        return reply({ channel: args.channel, ts: args.ts });
      case 'chat.postEphemeral':
        return reply({ message_ts: `${++ts}.000200` });
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
