/**
 * A real HTTP receiver on 127.0.0.1 for webhook tests: records every POST (raw body,
 * headers, arrival time) and answers with the status the test chooses per call.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import type { TestApp } from './app.ts';

export interface Received {
  body: string;
  json: { event: string; timestamp: string; deliveryId: string; data: Record<string, unknown> };
  headers: IncomingHttpHeaders;
  path: string;
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Decides the status of each call (1-based call number); default 200. Return null to never answer. */
  respond: (call: number, r: Received) => number | null;
  /** Resolves once `n` calls (matching `filter`) have arrived. */
  waitFor(n: number, filter?: (r: Received) => boolean, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const waiters = new Set<() => void>();
  const open = new Set<import('node:http').ServerResponse>();
  const receiver: Receiver = {
    url: '',
    received: [],
    respond: () => 200,
    async waitFor(n, filter = () => true, timeoutMs = 30_000) {
      const matching = () => receiver.received.filter(filter);
      if (matching().length >= n) return matching();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`receiver: ${matching().length} of ${n} calls arrived in ${timeoutMs} ms`));
        }, timeoutMs);
        const check = () => {
          if (matching().length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(matching());
        };
        waiters.add(check);
      });
    },
    close: () => new Promise<void>((resolve) => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Received['json'];
      try {
        json = JSON.parse(body);
      } catch {
        json = { event: '', timestamp: '', deliveryId: '', data: {} };
      }
      const r: Received = { body, json, headers: req.headers, path: req.url ?? '/', at: Date.now() };
      receiver.received.push(r);
      const status = receiver.respond(receiver.received.length, r);
      for (const w of [...waiters]) w();
      if (status === null) {
        open.add(res); // hang: the sender times out or is killed
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}

/** A receiver that is closed when the test ends. */
export async function receiverFor(t: Test): Promise<Receiver> {
  const r = await startReceiver();
  t.teardown(() => r.close());
  return r;
}

/** Registers a webhook through the API; anything but 201 fails with the response body. */
export async function createWebhook(h: TestApp, body: Record<string, unknown>): Promise<{ id: string; secret: string }> {
  const res = await h.call('POST', '/api/webhooks', { body });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json();
}
