/**
 * Slow and idle clients cannot hold the server: a body dripped byte by byte is cut off
 * with a 408 once the request timeout passes, while a long-poll (whose request arrives
 * at once) lasts past it; connections over the cap are refused.
 */
import { connect as netConnect, type Socket } from 'node:net';
import t from 'tap';
import { testApp } from '../helpers/app.ts';

const limits = { requestTimeoutMs: 2_000, headersTimeoutMs: 2_000, keepAliveTimeoutMs: 5_000, idleTimeoutMs: 60_000, maxConnections: 50 };

t.test('a dripped body is cut off; a long-poll lasting longer is not', async (t) => {
  const h = await testApp(t, { http: limits });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (h.app.server.address() as { port: number }).port;
  const agent = await h.key(['request:create', 'request:read']);
  const created = await h.call('POST', '/api/requests', { key: agent.key, body: { action: 'deploy' } });
  const id = created.json().id as string;

  // Dripping: headers, then one byte of a 100-byte body every 200 ms, forever.
  const started = Date.now();
  const socket: Socket = netConnect(port, '127.0.0.1');
  let answer = '';
  socket.on('data', (d) => { answer += String(d); });
  socket.on('error', () => {});
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(`POST /api/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${agent.key}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
  const drip = setInterval(() => { if (!socket.destroyed) socket.write(' '); }, 200);
  const closedAfter = await new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
  clearInterval(drip);
  t.ok(closedAfter >= limits.requestTimeoutMs - 100, `not cut before the request timeout (${closedAfter} ms)`);
  t.ok(closedAfter < 30_000, `cut off within the timeout plus a check interval (${closedAfter} ms)`);
  t.match(answer, /^HTTP\/1\.1 408/, 'answered 408');
  t.match(answer, /"code":"REQUEST_TIMEOUT"/, 'in the API\'s error shape');

  // A long-poll held for three request timeouts is answered normally at its own timeout.
  const pollStarted = Date.now();
  const poll = await fetch(`http://127.0.0.1:${port}/api/requests/${id}/wait?timeout=6`, { headers: { authorization: `Bearer ${agent.key}` } });
  t.equal(poll.status, 200);
  t.equal(poll.headers.get('x-agentgate-wait'), 'timeout');
  t.ok(Date.now() - pollStarted >= 5_900, 'the poll lasted its whole timeout');
});

t.test('connections over HTTP_MAX_CONNECTIONS are refused', async (t) => {
  const h = await testApp(t, { http: { ...limits, maxConnections: 3 } });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (h.app.server.address() as { port: number }).port;
  const open: Socket[] = [];
  t.teardown(() => { for (const s of open) s.destroy(); });
  for (let i = 0; i < 3; i++) {
    const s = netConnect(port, '127.0.0.1');
    s.on('error', () => {});
    await new Promise<void>((r) => s.once('connect', () => r()));
    open.push(s);
  }
  // Wait until the server has accepted the three.
  while ((await new Promise<number>((r) => h.app.server.getConnections((_e, n) => r(n)))) < 3) await new Promise((r) => setImmediate(r));
  const fourth = netConnect(port, '127.0.0.1');
  fourth.on('error', () => {});
  fourth.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
  let got = '';
  fourth.on('data', (d) => { got += String(d); });
  await new Promise<void>((r) => fourth.once('close', () => r()));
  t.equal(got, '', 'the fourth connection was closed without an answer');
  open[0]!.destroy();
  const connections = () => new Promise<number>((r) => h.app.server.getConnections((_e, n) => r(n)));
  while ((await connections()) >= 3) await new Promise((r) => setImmediate(r));
  const res = await fetch(`http://127.0.0.1:${port}/health`);
  t.equal(res.status, 200, 'once one closes, a new one is served');
});
