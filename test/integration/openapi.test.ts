import t from 'tap';
import { testApp } from '../helpers/app.ts';
import { CreateRequestBody } from '../../server/src/requests/schemas.ts';

t.test('the OpenAPI document and /docs come from the route schemas', async (t) => {
  const h = await testApp(t);
  const res = await h.call('GET', '/openapi.json', { key: null });
  t.equal(res.statusCode, 200);
  const doc = res.json() as {
    openapi: string;
    paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }; responses: Record<string, unknown> }>>;
  };
  t.match(doc.openapi, /^3\./);
  const create = doc.paths['/api/requests']?.post;
  t.ok(create, 'POST /api/requests is documented');
  const body = create!.requestBody!.content['application/json']!.schema;
  // The very schema that validates requests: same fields, same refusals.
  t.same(Object.keys(body.properties as object).sort(), Object.keys(CreateRequestBody.properties).sort());
  t.equal(body.additionalProperties, false);
  t.same(body.required, ['action']);
  t.ok(create!.responses['201'], 'documents the 201');
  t.ok(create!.responses['400'], 'and its errors');
  for (const path of ['/api/requests/{id}/decide', '/api/policies', '/api/webhooks', '/api/keys', '/api/audit', '/api/requests/{id}/wait', '/api/events']) {
    t.ok(doc.paths[path], `${path} is documented`);
  }

  const docs = await h.app.inject({ method: 'GET', url: '/docs/' });
  t.equal(docs.statusCode, 200);
  t.match(docs.headers['content-type'], /text\/html/);
  t.match(docs.body, /swagger/i);
});
