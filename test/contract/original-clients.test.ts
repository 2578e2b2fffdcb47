/**
 * The original project's SDK, CLI and MCP server, replayed as the HTTP exchanges they make
 * (original-exchanges.ts) against a real server over HTTP: every status and every field
 * those clients read must hold, so these routes cannot regress for them.
 */
import t from 'tap';
import { liveServer } from '../clients/_helpers.ts';
import { EXCHANGES, headersFor, SEED_POLICIES, type Vars } from './original-exchanges.ts';

t.test('the original clients\' exchanges, in order', async (t) => {
  const s = await liveServer(t);
  for (const policy of SEED_POLICIES) {
    const res = await s.call('POST', '/api/policies', { body: policy });
    t.equal(res.statusCode, 201, res.body);
  }
  const me = (await s.call('GET', '/api/keys')).json() as { keys: Array<{ id: string; scopes: string[] }> };
  const vars: Vars = { adminKeyId: me.keys.find((k) => k.scopes.includes('admin'))!.id };
  for (const x of EXCHANGES) {
    const body = x.body?.(vars);
    const res = await fetch(`${s.baseUrl}${x.path(vars)}`, {
      method: x.method,
      headers: headersFor(x.client, s.adminKey, body !== undefined),
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch { /* reported below */ }
    const found = res.status === x.status ? x.reads(json, vars) : [`status ${res.status}, expected ${x.status}: ${text.slice(0, 300)}`];
    t.same(found, [], `${x.client} ${x.call}: ${x.method} ${x.path(vars)}`);
  }
});
