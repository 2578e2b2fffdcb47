/** The printed actor of audit entries, the filter it stands for, and date-only bounds. */
import t from 'tap';
import { actorLabel, parseActorFilter } from '../../server/src/audit/actor.ts';
import { dateBound } from '../../server/src/audit/queries.ts';

t.test('actors print as type:name, the server\'s own work as system', async (t) => {
  t.equal(actorLabel({ type: 'key', name: 'ops-bot' }), 'key:ops-bot');
  t.equal(actorLabel({ type: 'reviewer', name: 'Alice Martin' }), 'reviewer:Alice Martin');
  t.equal(actorLabel({ type: 'policy', name: 'policy:small-payments' }), 'policy:small-payments', 'no double prefix');
  t.equal(actorLabel({ type: 'policy', name: 'small-payments' }), 'policy:small-payments');
  t.equal(actorLabel({ type: 'system', name: 'worker' }), 'system');
});

t.test('a printed actor is a filter; anything else is a bare name or id as before', async (t) => {
  t.same(parseActorFilter('key:ops-bot'), { kind: 'label', type: 'key', name: 'ops-bot', text: 'key:ops-bot' });
  t.same(parseActorFilter('policy:small-payments'), { kind: 'label', type: 'policy', name: 'small-payments', text: 'policy:small-payments' });
  t.same(parseActorFilter('key:a:b'), { kind: 'label', type: 'key', name: 'a:b', text: 'key:a:b' }, 'a name may hold colons');
  t.same(parseActorFilter('system'), { kind: 'label', type: 'system', name: null, text: 'system' });
  t.same(parseActorFilter('ops-bot'), { kind: 'plain', text: 'ops-bot' });
  t.same(parseActorFilter('ci:bot'), { kind: 'plain', text: 'ci:bot' }, 'an unknown prefix is part of a name');
  t.same(parseActorFilter('key_01abc'), { kind: 'plain', text: 'key_01abc' });
});

t.test('a date alone covers its whole UTC day', async (t) => {
  t.equal(dateBound('2026-12-04', 'from').toISOString(), '2026-12-04T00:00:00.000Z');
  t.equal(dateBound('2026-12-04', 'to').toISOString(), '2026-12-05T00:00:00.000Z', 'to is exclusive: the end of that day');
  t.equal(dateBound('2026-12-31', 'to').toISOString(), '2027-01-01T00:00:00.000Z');
  t.equal(dateBound('2026-12-04T10:30:00Z', 'to').toISOString(), '2026-12-04T10:30:00.000Z', 'a date-time is taken as is');
  t.equal(dateBound('2026-12-04T10:30:00+02:00', 'from').toISOString(), '2026-12-04T08:30:00.000Z');
  for (const bad of ['2026-02-30', '2026-13-01', 'last-week', 'December 4', '2026-12-04T10:30:00', '1700000000']) {
    t.throws(() => dateBound(bad, 'from'), { code: 'VALIDATION_ERROR' }, bad);
  }
});
