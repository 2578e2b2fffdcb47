/**
 * Every error, including those fastify and Node's HTTP parser answer themselves, has the
 * API's shape: `{ "error": { "code", "message", "details"? } }` with a JSON content type.
 */
import { connect as netConnect } from 'node:net';
import t, { type Test } from 'tap';
import { testApp } from '../helpers/app.ts';

type ErrorJson = { error: { code: string; message: string; details?: unknown } };

function assertShape(t: Test, label: string, status: number, contentType: string | undefined, body: string, expected: { status: number; code: string }) {
  t.equal(status, expected.status, `${label}: status ${expected.status}`);
  t.match(contentType ?? '', /^application\/json/, `${label}: JSON content type`);
  let parsed: ErrorJson | null = null;
  try {
    parsed = JSON.parse(body) as ErrorJson;
  } catch {
    t.fail(`${label}: body is JSON: ${body.slice(0, 200)}`);
    return;
  }
  t.equal(parsed.error?.code, expected.code, `${label}: code ${expected.code}`);
  t.type(parsed.error?.message, 'string', `${label}: a message`);
  t.same(Object.keys(parsed).sort(), ['error'], `${label}: nothing beside "error"`);
  t.ok(Object.keys(parsed.error).every((k) => ['code', 'message', 'details'].includes(k)), `${label}: only code, message, details`);
}

/** Writes raw bytes and returns the raw answer (the server closes the connection after an error). */
function rawExchange(port: number, bytes: string): Promise<{ status: number; contentType?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(port, '127.0.0.1', () => socket.write(bytes));
    let data = '';
    socket.on('data', (d) => { data += String(d); });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      const contentType = /\r\ncontent-type: ([^\r]+)/i.exec(head)?.[1];
      resolve({ status, contentType, body });
    });
  });
}

t.test('errors the router, the parser and the framework produce', async (t) => {
  const h = await testApp(t);
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (h.app.server.address() as { port: number }).port;
  const base = `http://127.0.0.1:${port}`;
  const admin = { authorization: `Bearer ${h.adminKey}` };

  const check = async (label: string, res: Response, expected: { status: number; code: string }) => {
    assertShape(t, label, res.status, res.headers.get('content-type') ?? undefined, await res.text(), expected);
    return res;
  };

  await check('unknown route', await fetch(`${base}/no/such/route`), { status: 404, code: 'ROUTE_NOT_FOUND' });
  await check('unknown /api route', await fetch(`${base}/api/nothing`, { headers: admin }), { status: 404, code: 'ROUTE_NOT_FOUND' });

  const put = await check('wrong method', await fetch(`${base}/api/requests`, { method: 'PUT', headers: admin }), { status: 405, code: 'METHOD_NOT_ALLOWED' });
  t.equal(put.headers.get('allow'), 'GET, POST, HEAD', '405 names the allowed methods');
  const del = await check('wrong method on a parameterised path', await fetch(`${base}/api/policies/pol_x/anything`, { method: 'DELETE', headers: admin }), { status: 404, code: 'ROUTE_NOT_FOUND' });
  t.notOk(del.headers.get('allow'));
  const delKey = await check('DELETE on a path with GET only', await fetch(`${base}/openapi.json`, { method: 'DELETE' }), { status: 405, code: 'METHOD_NOT_ALLOWED' });
  t.equal(delKey.headers.get('allow'), 'GET, HEAD');

  await check('XML body', await fetch(`${base}/api/requests`, { method: 'POST', headers: { ...admin, 'content-type': 'application/xml' }, body: '<a/>' }),
    { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
  await check('text body', await fetch(`${base}/api/requests`, { method: 'POST', headers: { ...admin, 'content-type': 'text/plain' }, body: 'hi' }),
    { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });

  const ws = await check('plain GET on the WebSocket path', await fetch(`${base}/api/stream`), { status: 426, code: 'UPGRADE_REQUIRED' });
  t.equal(ws.headers.get('upgrade'), 'websocket');
  await check('plain GET on the WebSocket path with a key', await fetch(`${base}/api/stream`, { headers: admin }), { status: 426, code: 'UPGRADE_REQUIRED' });

  await check('a URL that does not decode', await fetch(`${base}/api/requests/%E0%A4%A`, { headers: admin }), { status: 400, code: 'INVALID_URL' });

  const big = await rawExchange(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`);
  assertShape(t, 'headers too large', big.status, big.contentType, big.body, { status: 431, code: 'HEADERS_TOO_LARGE' });
  const garbage = await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n');
  assertShape(t, 'bytes that are not HTTP', garbage.status, garbage.contentType, garbage.body, { status: 400, code: 'MALFORMED_REQUEST' });
});

t.test('a request arriving while the server closes gets a 503 in the same shape', async (t) => {
  const h = await testApp(t);
  // preClose hooks run in order: the app's own (which starts refusing) ran before this one.
  let answered: Response | null = null;
  let body = '';
  h.app.addHook('preClose', async () => {
    const port = (h.app.server.address() as { port: number }).port;
    answered = await fetch(`http://127.0.0.1:${port}/health`);
    body = await answered.text();
  });
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  await h.app.close();
  const res = answered as Response | null;
  if (!res) return t.fail('a request was made during close');
  assertShape(t, 'while closing', res.status, res.headers.get('content-type') ?? undefined, body, { status: 503, code: 'SERVICE_UNAVAILABLE' });
  t.equal(res.headers.get('retry-after'), '1');
});
