import net from 'node:net';
import type { Test } from 'tap';
import { AgentGateClient } from '@agentgate/sdk';
import { testApp, type TestApp } from '../helpers/app.ts';
import type { AppOptions } from '../../server/src/http/app.ts';

export interface LiveServer extends TestApp {
  baseUrl: string;
  /** An SDK client on the real HTTP port with the given key (admin by default). */
  client(key?: string, opts?: { baseUrl?: string; fetch?: typeof fetch; retries?: number }): AgentGateClient;
}

/** A full app on a real loopback port, with its own database. */
export async function liveServer(t: Test, options: Partial<AppOptions> = {}): Promise<LiveServer> {
  const h = await testApp(t, options);
  // Teardowns run last-registered first, so this runs before testApp's app.close(): a
  // connection a client opened but never used is not "idle" to Node, and app.close()
  // would wait for it until the headers timeout.
  t.teardown(() => h.app.server.closeAllConnections());
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = h.app.server.address() as net.AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    ...h,
    baseUrl,
    client: (key = h.adminKey, o = {}) => new AgentGateClient({
      baseUrl: o.baseUrl ?? baseUrl, apiKey: key, retryDelayMs: 20,
      ...(o.fetch && { fetch: o.fetch }), ...(o.retries !== undefined && { retries: o.retries }),
    }),
  };
}

export interface TcpProxy {
  port: number;
  baseUrl: string;
  /** How many client connections the proxy has accepted so far. */
  readonly accepted: number;
  /** Cuts every open connection at once, as a network failure would. */
  dropAll(): void;
}

/** A loopback TCP proxy in front of the server, so a test can cut connections mid-call. */
export async function tcpProxy(t: Test, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const dropAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  t.teardown(() => {
    dropAll();
    server.close();
  });
  return { port, baseUrl: `http://127.0.0.1:${port}`, get accepted() { return accepted; }, dropAll };
}

export function portOf(baseUrl: string): number {
  return Number(new URL(baseUrl).port);
}

/** Waits for a condition of observable state; not a timing assertion, only a wait with a generous cap. */
export async function until<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A fetch that records every call and can be told to misbehave once per matching call. */
export function recordingFetch() {
  const calls: { url: string; method: string; headers: Record<string, string>; status?: number; error?: string }[] = [];
  const hooks: ((url: string, init: RequestInit) => Promise<Response | undefined> | Response | undefined)[] = [];
  const started = new Set<(url: string) => void>();
  const fetchImpl: typeof fetch = async (input, init = {}) => {
    const url = String(input);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => { headers[k] = v; });
    const call: (typeof calls)[number] = { url, method: init.method ?? 'GET', headers };
    calls.push(call);
    for (const s of started) s(url);
    for (const hook of hooks) {
      const substitute = await hook(url, init);
      if (substitute) {
        call.status = substitute.status;
        return substitute;
      }
    }
    try {
      const res = await fetch(input, init);
      call.status = res.status;
      return res;
    } catch (err) {
      call.error = (err as Error).message;
      throw err;
    }
  };
  return {
    fetch: fetchImpl,
    calls,
    /** Runs before the real fetch; returning a Response replaces it, throwing fails the call. */
    intercept(hook: (url: string, init: RequestInit) => Promise<Response | undefined> | Response | undefined) {
      hooks.push(hook);
    },
    /** How many calls went to a URL containing `part`. */
    count: (part: string) => calls.filter((c) => c.url.includes(part)).length,
    /** Resolves once `n` calls to a URL containing `part` have been sent. */
    sent(part: string, n = 1): Promise<void> {
      const seen = () => calls.filter((c) => c.url.includes(part)).length >= n;
      if (seen()) return Promise.resolve();
      return new Promise((resolve) => {
        const s = () => {
          if (seen()) {
            started.delete(s);
            resolve();
          }
        };
        started.add(s);
      });
    },
  };
}
