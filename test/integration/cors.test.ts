import t from 'tap';
import { testApp } from '../helpers/app.ts';

t.test('browsers on CORS_ORIGINS may call the API; others get no CORS headers', async (t) => {
  const h = await testApp(t, { corsOrigins: ['https://dash.example.com'] });
  const preflight = await h.app.inject({
    method: 'OPTIONS', url: '/api/requests',
    headers: { origin: 'https://dash.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, idempotency-key' },
  });
  t.equal(preflight.statusCode, 204, 'a preflight needs no key');
  t.equal(preflight.headers['access-control-allow-origin'], 'https://dash.example.com');
  t.match(String(preflight.headers['access-control-allow-headers']), /Idempotency-Key/);

  const call = await h.call('GET', '/api/requests', { headers: { origin: 'https://dash.example.com' } });
  t.equal(call.statusCode, 200);
  t.equal(call.headers['access-control-allow-origin'], 'https://dash.example.com');
  t.match(String(call.headers['access-control-expose-headers']), /X-AgentGate-Wait/);

  const stranger = await h.call('GET', '/api/requests', { headers: { origin: 'https://evil.example.net' } });
  t.equal(stranger.headers['access-control-allow-origin'], undefined, 'an origin not listed gets nothing');
  const strangerPreflight = await h.app.inject({
    method: 'OPTIONS', url: '/api/requests',
    headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' },
  });
  t.equal(strangerPreflight.headers['access-control-allow-origin'], undefined);
});
