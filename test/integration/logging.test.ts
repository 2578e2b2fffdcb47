/**
 * The server's own log (pino, captured through AppOptions.logStream at trace level):
 * requests are logged with their request id, and no API key or webhook secret ever is.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import t from 'tap';
import { testApp } from '../helpers/app.ts';

t.test('logs carry request ids and never keys or secrets', async (t) => {
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const h = await testApp(t, { logLevel: 'trace', logStream });
  const log = () => lines.join('\n');
  const entries = () => lines.map((l) => JSON.parse(l) as { reqId?: string; msg?: string; req?: { url?: string }; res?: { statusCode?: number } });

  const created = await h.call('POST', '/api/keys', { body: { name: 'logged agent', scopes: ['request:create', 'request:read', 'webhook:manage'] } });
  t.equal(created.statusCode, 201);
  const agentKey = created.json().key as string;
  const secret = `whsec-${randomBytes(24).toString('hex')}`;
  const unknownKey = `agk_${randomBytes(32).toString('base64url')}`;

  const traced = await h.call('POST', '/api/requests', { key: agentKey, body: { action: 'send_email', params: { to: 'a@b.c' } }, headers: { 'x-request-id': 'trace-log-1' } });
  t.equal(traced.statusCode, 201);
  // A receiver on loopback that answers the test ping (testApp allows private webhook URLs).
  const receiver = createServer((req, res) => { req.resume(); req.on('end', () => res.end('ok')); });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  const hook = await h.call('POST', '/api/webhooks', { key: agentKey, body: { url: hookUrl, events: ['*'], secret } });
  t.equal(hook.statusCode, 201, `the webhook with our secret is created (${hook.body.slice(0, 200)})`);
  const ping = await h.call('POST', `/api/webhooks/${hook.json().id}/test`, { key: agentKey });
  t.ok(ping.statusCode < 500, `the test ping ran (${ping.statusCode})`);
  const rotated = `whsec-${randomBytes(24).toString('hex')}`;
  const patch = await h.call('PATCH', `/api/webhooks/${hook.json().id}`, { key: agentKey, body: { secret: rotated } });
  t.equal(patch.statusCode, 200, 'the secret is rotated');
  await h.call('POST', '/api/webhooks', { key: agentKey, body: `{"url": "https://hooks.example.com/x", "secret": "${secret}"` });
  await h.call('GET', '/api/requests', { key: unknownKey });
  await h.call('GET', '/api/requests', { key: null, headers: { authorization: `Basic ${Buffer.from(`u:${agentKey}`).toString('base64')}` } });
  // Clients that put a credential in the URL: the log must not keep it either.
  await h.call('GET', `/api/requests?api_key=${agentKey}&limit=1`, { key: null });
  await h.call('GET', `/api/requests?token=${encodeURIComponent(agentKey)}`, { key: agentKey });
  await h.call('GET', `/api/requests/${agentKey}`, { key: agentKey });
  await h.call('POST', '/api/requests', { key: agentKey, body: { action: 5, secret, apiKey: agentKey } });
  const revoke = await h.call('DELETE', `/api/keys/${created.json().id}`);
  t.equal(revoke.statusCode, 200);
  await h.call('GET', '/api/requests', { key: agentKey });

  t.ok(lines.length > 10, `something was logged (${lines.length} lines)`);
  const parsed = entries();
  const forTrace = parsed.filter((e) => e.reqId === 'trace-log-1');
  t.ok(forTrace.some((e) => e.msg === 'incoming request' && e.req?.url === '/api/requests'), 'the incoming request is logged with the given request id');
  t.ok(forTrace.some((e) => e.res?.statusCode === 201), 'its completion too, with the status');
  const generated = parsed.filter((e) => e.msg === 'incoming request' && e.reqId !== 'trace-log-1');
  t.ok(generated.length > 5 && generated.every((e) => typeof e.reqId === 'string' && e.reqId.length > 0), 'every other request is logged with a generated id');

  for (const [what, value] of [['the agent key', agentKey], ['the admin key', h.adminKey], ['an unknown key', unknownKey], ['the webhook secret', secret], ['the rotated secret', rotated]] as const) {
    t.notOk(log().includes(value), `${what} never appears in the log`);
    t.notOk(log().includes(value.slice(4, 28)), `nor does a long piece of ${what}`);
  }
  t.notOk(log().includes(Buffer.from(`u:${agentKey}`).toString('base64')), 'nor a Basic credential');
});
