/** A followed NDJSON export ends as soon as its key is revoked or loses audit:read. */
import { request as httpRequest } from 'node:http';
import t from 'tap';
import { testApp } from '../helpers/app.ts';
import { listenOn, until } from '../helpers/live.ts';

function follow(url: string, key: string) {
  let body = '';
  const req = httpRequest(url, { headers: { authorization: `Bearer ${key}` } });
  const ended = new Promise<string>((resolve) => {
    req.on('response', (r) => {
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => { body += chunk; });
      r.on('close', () => resolve(body));
    });
  });
  req.end();
  return { text: () => body, ended, abort: () => req.destroy() };
}

const lines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; error?: { code: string } });

for (const [name, change, code] of [
  ['revoked', (h: Awaited<ReturnType<typeof testApp>>, id: string) => h.call('DELETE', `/api/keys/${id}`), 'UNAUTHORIZED'],
  ['loses audit:read', (h: Awaited<ReturnType<typeof testApp>>, id: string) => h.call('PATCH', `/api/keys/${id}`, { body: { scopes: ['request:read'] } }), 'FORBIDDEN'],
] as const) {
  t.test(`a followed export ends when its key is ${name}`, async (t) => {
    const h = await testApp(t);
    const base = await listenOn(h.app);
    const auditor = await h.key(['audit:read']);
    const f = follow(`${base}/api/events?follow=true`, auditor.key);
    t.teardown(() => f.abort());
    await until(() => lines(f.text()).some((l) => l.type === 'cursor'), 'the export to go live');
    const res = await change(h, auditor.id);
    t.equal(res.statusCode, 200, res.body);
    const all = lines(await f.ended);
    const error = all.find((l) => l.type === 'error');
    t.equal(error?.error?.code, code, 'an error line says why');
    t.equal(all[all.length - 1]!.type, 'cursor', 'and a cursor line closes the response');
  });
}
