/**
 * The local receivers the benches send to, on 127.0.0.1 in the bench process, so that one
 * clock times both ends. Each answers as soon as a request (or a mail) has arrived, with no
 * work before the answer beyond finding what to stamp, and keeps connections alive:
 *
 *  - `webhookReceiver`: webhook deliveries (bench/webhooks.ts);
 *  - `slackReceiver`, `discordReceiver`: the Slack Web API and Discord REST calls the channel
 *    adapters make (post a message, update it), answered with what the adapters read back;
 *  - `mailReceiver`: an SMTP server (smtp-server) that takes each message and reads only
 *    its `X-AgentGate-Request` header (no MIME parsing).
 *
 * Arrivals are stamped with `now()`: milliseconds on the wall clock's scale (comparable with
 * an event's `recorded_at`), at sub-millisecond resolution.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export const now = () => performance.timeOrigin + performance.now();

/** The first arrival of each key (a request id, a delivery id), and how many arrived in all. */
export class Arrivals {
  readonly first = new Map<string, number>();
  total = 0;

  record(key: string, at: number): void {
    this.total++;
    if (!this.first.has(key)) this.first.set(key, at);
  }

  get size(): number {
    return this.first.size;
  }

  /** Arrivals beyond the first of their key (a message posted twice). */
  get extra(): number {
    return this.total - this.first.size;
  }

  /** The latest first arrival. */
  last(): number {
    let last = -Infinity;
    for (const at of this.first.values()) last = Math.max(last, at);
    return last;
  }

  clear(): void {
    this.first.clear();
    this.total = 0;
  }
}

export interface Receiver {
  /** Base URL (HTTP) or smtp:// URL. */
  url: string;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  json?: unknown;
}

/** An HTTP server that hands each request's whole body, and the moment it arrived, to `handle`, and answers at once. */
async function httpReceiver(handle: (req: IncomingMessage, body: string, at: number) => Reply): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = now();
      const reply = handle(req, Buffer.concat(chunks).toString('utf8'), at);
      if (reply.json === undefined) {
        res.writeHead(reply.status).end();
        return;
      }
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.json));
    });
  });
  // Clients keep their connections between bursts: never close one under them.
  server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** Webhook deliveries by delivery id, with each one's latency from its event's `timestamp`. */
export async function webhookReceiver(): Promise<Receiver & { arrivals: Arrivals; latencyMs: Map<string, number>; clear(): void }> {
  const arrivals = new Arrivals();
  const latencyMs = new Map<string, number>();
  const http = await httpReceiver((_req, body, at) => {
    const delivery = JSON.parse(body) as { deliveryId: string; timestamp: string };
    if (!arrivals.first.has(delivery.deliveryId)) latencyMs.set(delivery.deliveryId, at - Date.parse(delivery.timestamp));
    arrivals.record(delivery.deliveryId, at);
    return { status: 200 };
  });
  return {
    url: `http://127.0.0.1:${http.port}/hook`, arrivals, latencyMs, close: http.close,
    clear: () => {
      arrivals.clear();
      latencyMs.clear();
    },
  };
}

export const REQUEST_ID = /req_[0-9a-hjkmnp-tv-z]{26}/;
// Request ids are letters, digits and one underscore: form encoding leaves them as they are.
const requestIdIn = (text: string) => REQUEST_ID.exec(text)?.[0] ?? null;

/** Messages and their updates as a channel's API received them, by request id. */
export interface ChannelArrivals {
  posted: Arrivals;
  updated: Arrivals;
}

/**
 * Slack's Web API at /api/<method>: chat.postMessage answers a channel id and a fresh `ts`,
 * chat.update answers ok. The adapter's bodies are form-encoded; the request id is found
 * in them (the message's metadata and links carry it).
 */
export async function slackReceiver(): Promise<Receiver & ChannelArrivals> {
  const posted = new Arrivals();
  const updated = new Arrivals();
  let ts = 1_700_000_000;
  const http = await httpReceiver((req, body, at) => {
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0];
    const id = requestIdIn(body);
    if (method === 'chat.postMessage') {
      if (id) posted.record(id, at);
      return { status: 200, json: { ok: true, channel: 'C0APPROVALS', ts: `${++ts}.000100` } };
    }
    if (method === 'chat.update') {
      if (id) updated.record(id, at);
      return { status: 200, json: { ok: true } };
    }
    return { status: 200, json: { ok: false, error: 'unknown_method' } };
  });
  return { url: `http://127.0.0.1:${http.port}/api/`, posted, updated, close: http.close };
}

/** Discord's REST API (v10): create a channel message (a snowflake-shaped id back) and edit it. */
export async function discordReceiver(): Promise<Receiver & ChannelArrivals> {
  const posted = new Arrivals();
  const updated = new Arrivals();
  let sequence = 0n;
  const http = await httpReceiver((req, body, at) => {
    const path = (req.url ?? '').split('?')[0]!.replace(/^\/api\/v10/, '');
    const id = requestIdIn(body);
    let m: RegExpExecArray | null;
    if (req.method === 'POST' && (m = /^\/channels\/(\d+)\/messages$/.exec(path))) {
      if (id) posted.record(id, at);
      const messageId = (((BigInt(Date.now()) - 1420070400000n) << 22n) + (sequence++ % 4096n)).toString();
      return { status: 200, json: { id: messageId, channel_id: m[1] } };
    }
    if (req.method === 'PATCH' && (m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path))) {
      if (id) updated.record(id, at);
      return { status: 200, json: { id: m[2], channel_id: m[1] } };
    }
    return { status: 404, json: { message: '404: Not Found', code: 0 } };
  });
  return { url: `http://127.0.0.1:${http.port}/api`, posted, updated, close: http.close };
}

/** An SMTP server taking every message at once; arrivals by the message's X-AgentGate-Request header. */
export async function mailReceiver(): Promise<Receiver & { posted: Arrivals; connections(): number }> {
  const posted = new Arrivals();
  let connections = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const at = now();
        const raw = Buffer.concat(chunks).toString('utf8');
        const headers = raw.slice(0, Math.max(0, raw.indexOf('\r\n\r\n')));
        const id = /^x-agentgate-request:\s*(\S+)/im.exec(headers)?.[1];
        if (id) posted.record(id, at);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    posted,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
