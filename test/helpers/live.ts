import WebSocket from 'ws';
import type { LiveEvent } from '../../clients/sdk/src/events.ts';
import type { Sql } from '../../server/src/db/connect.ts';
import { oldestOpenTransaction } from './db.ts';

/** An `event` message as the server sends it, declared once by the SDK. */
export type WireEvent = LiveEvent;

export type ServerMessage = { type: string; [k: string]: unknown };

/** A WebSocket client that keeps every message and lets a test wait for one. */
export class StreamClient {
  readonly messages: ServerMessage[] = [];
  readonly events: WireEvent[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  private waiters: { pred: (m: ServerMessage) => boolean; resolve: (m: ServerMessage) => void }[] = [];

  constructor(readonly ws: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode}`)));
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as ServerMessage;
      this.messages.push(m);
      if (m.type === 'event') this.events.push(m as unknown as WireEvent);
      for (const w of [...this.waiters]) {
        if (w.pred(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
  }

  /** The first message (already received or future) that matches. */
  next(pred: (m: ServerMessage) => boolean): Promise<ServerMessage> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  nextOfType(type: string) {
    return this.next((m) => m.type === type);
  }

  /** Resolves once an event with this position has arrived. */
  position(position: number) {
    return this.next((m) => m.type === 'event' && m.position === position);
  }

  /** Resolves once `n` events have arrived. */
  async count(n: number): Promise<void> {
    if (this.events.length >= n) return;
    await this.next(() => this.events.length >= n);
  }

  send(message: object) {
    this.ws.send(JSON.stringify(message));
  }

  close() {
    this.ws.close();
    return this.closed;
  }
}

export function streamUrl(base: string) {
  return `${base.replace(/^http/, 'ws')}/api/stream`;
}

export type AuthMode = 'protocol' | 'message' | 'header' | 'none';

/** Opens /api/stream authenticated the chosen way and waits for the answer to authentication. */
export async function connectStream(base: string, key: string | null, mode: AuthMode = 'protocol'): Promise<StreamClient> {
  const url = streamUrl(base);
  const ws = mode === 'protocol' && key ? new WebSocket(url, ['agentgate.v1', `bearer.${key}`])
    : mode === 'header' && key ? new WebSocket(url, ['agentgate.v1'], { headers: { authorization: `Bearer ${key}` } })
    : new WebSocket(url, ['agentgate.v1']);
  const client = new StreamClient(ws);
  await client.opened;
  if (mode === 'message' && key) client.send({ type: 'auth', apiKey: key });
  return client;
}

/** Authenticated and subscribed; resolves after the server acknowledged the subscription. */
export async function subscribe(base: string, key: string, sub: { from?: number; filter?: object } = {}): Promise<StreamClient> {
  const c = await connectStream(base, key);
  await Promise.race([c.nextOfType('authenticated'), c.closed.then((x) => { throw new Error(`closed ${x.code} ${x.reason}`); })]);
  c.send({ type: 'subscribe', ...sub });
  await c.nextOfType('subscribed');
  return c;
}

/** Every position of the log in log order. */
export async function logOrder(sql: Sql): Promise<number[]> {
  const rows = await sql<{ position: number }[]>`select position from events order by tx_id, position`;
  return rows.map((r) => r.position);
}

export async function listenOn(app: { listen(o: { host: string; port: number }): Promise<string> }): Promise<string> {
  return app.listen({ host: '127.0.0.1', port: 0 });
}

/** Polls a condition of in-process state (not a timing assertion: it only waits for it). */
export async function until(cond: () => boolean, what = 'condition', timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Waits until every event is below the read horizon. Readers only see transactions older
 * than the oldest one still open anywhere on the server, and other test files share it.
 */
export async function settled(sql: Sql, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ held: number }[]>`
      select count(*)::int as held from events where tx_id >= pg_snapshot_xmin(pg_current_snapshot())`;
    if (row!.held === 0) return;
    if (Date.now() > end) {
      throw new Error(`${row!.held} event(s) still above the read horizon after ${timeoutMs} ms; ${await oldestOpenTransaction(sql)}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
