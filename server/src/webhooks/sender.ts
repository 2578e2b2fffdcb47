/**
 * One HTTP POST of a delivery. Built on node:http(s) rather than fetch so that the
 * connection's own DNS lookup is checked too: a name that resolved to a public address
 * when the URL was checked cannot switch to an internal one for the connection
 * (DNS rebinding). Redirects are never followed.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { checkWebhookUrl, classifyAddress } from './ssrf.ts';

export interface PostResult {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** True when the URL was refused before any connection: trying again will not help. */
  refused: boolean;
}

export interface PostOptions {
  allowPrivate: boolean;
  timeoutMs: number;
}

const USER_AGENT = 'AgentGate-Webhook/0.1';
const MAX_ERROR_BODY = 200;

/** A lookup for the connection that refuses non-public addresses. */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true, verbatim: true }, (err, addresses: LookupAddress[]) => {
    if (err) return (callback as (e: Error) => void)(err);
    for (const a of addresses) {
      const reason = classifyAddress(a.address);
      if (reason) {
        const refused = Object.assign(new Error(`${hostname} resolves to ${a.address}, a ${reason}`), { code: 'EUNSAFEADDRESS' });
        return (callback as (e: Error) => void)(refused);
      }
    }
    if (options.all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0]!;
    return (callback as (e: null, a: string, f: number) => void)(null, first.address, first.family);
  });
};

export async function postJson(url: string, body: string, headers: Record<string, string>, opts: PostOptions): Promise<PostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const verdict = await checkWebhookUrl(url, { allowPrivate: opts.allowPrivate });
  if (!verdict.ok) return { statusCode: null, durationMs: elapsed(), error: `refused: ${verdict.reason}`, refused: true };

  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<PostResult, 'durationMs' | 'refused'>, refused = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, durationMs: elapsed(), refused });
    };
    const req = client.request(target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'user-agent': USER_AGENT,
        ...headers,
      },
      agent: false,
      ...(opts.allowPrivate ? {} : { lookup: guardedLookup }),
    }, (res) => {
      const status = res.statusCode ?? null;
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_ERROR_BODY) chunks.push(c);
        size += c.length;
      });
      res.on('error', (err) => finish({ statusCode: status, error: err.message }));
      res.on('end', () => {
        if (status !== null && status >= 200 && status < 300) return finish({ statusCode: status, error: null });
        if (status !== null && status >= 300 && status < 400) {
          return finish({ statusCode: status, error: `redirect to ${res.headers.location ?? '(no location)'} not followed` });
        }
        const text = Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY).trim();
        finish({ statusCode: status, error: `HTTP ${status}${text ? `: ${text}` : ''}` });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) => finish({ statusCode: null, error: err.message }, err.code === 'EUNSAFEADDRESS'));
    req.end(body);
  });
}
