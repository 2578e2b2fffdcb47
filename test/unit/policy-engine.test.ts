import t from 'tap';
import {
  compilePolicies,
  evaluatePolicies,
  PolicyCompileError,
  validatePolicyRules,
  type Matcher,
  type Policy,
  type Rule,
  type Subject,
} from '../../server/src/policies/engine.ts';

// ---------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------

function policy(overrides: Partial<Policy> & { id: string }): Policy {
  return {
    version: 1,
    name: overrides.id,
    priority: 100,
    enabled: true,
    rules: [],
    ...overrides,
  };
}

function subject(overrides: Partial<Subject> = {}): Subject {
  return {
    action: 'send_email',
    urgency: 'normal',
    params: { to: 'alice@example.com', amount: 50 },
    context: { agent: { name: 'billing-bot' } },
    requester: { keyId: 'key_123', keyName: 'ci' },
    ...overrides,
  };
}

/** True when a single rule with `match` approves the subject. */
function matches(match: Record<string, Matcher>, s: Partial<Subject> = {}): boolean {
  const engine = compilePolicies([
    policy({ id: 'p', rules: [{ match, decision: 'auto_approve' }] }),
  ]);
  return engine.evaluate(subject(s)).decision === 'auto_approve';
}

function errorPaths(rules: unknown): string[] {
  const result = validatePolicyRules(rules);
  return result.ok ? [] : result.errors.map((e) => e.path);
}

function errorFor(rules: unknown, path: string): string | undefined {
  const result = validatePolicyRules(rules);
  if (result.ok) return undefined;
  return result.errors.find((e) => e.path === path)?.message;
}

// ---------------------------------------------------------------------------
// Ordering
// ---------------------------------------------------------------------------

t.test('policies are evaluated by ascending priority', async (t) => {
  // given two matching policies listed with the higher priority number first
  const engine = compilePolicies([
    policy({ id: 'late', priority: 20, rules: [{ match: {}, decision: 'auto_deny' }] }),
    policy({ id: 'early', priority: 10, rules: [{ match: {}, decision: 'auto_approve' }] }),
  ]);
  // when evaluating
  const result = engine.evaluate(subject());
  // then the lower priority number wins
  t.equal(result.decision, 'auto_approve');
  t.equal(result.policyId, 'early');
  t.same(engine.policyIds, ['early', 'late']);
});

t.test('equal priorities are ordered by policy id ascending', async (t) => {
  // given two matching policies with the same priority, listed b before a
  const engine = compilePolicies([
    policy({ id: 'b', priority: 5, rules: [{ match: {}, decision: 'auto_deny' }] }),
    policy({ id: 'a', priority: 5, rules: [{ match: {}, decision: 'auto_approve' }] }),
  ]);
  // when / then the id that sorts first wins
  t.equal(engine.evaluate(subject()).policyId, 'a');
  t.same(engine.policyIds, ['a', 'b']);
});

t.test('disabled policies are skipped', async (t) => {
  // given a disabled policy that would otherwise win on priority
  const engine = compilePolicies([
    policy({ id: 'off', priority: 1, enabled: false, rules: [{ match: {}, decision: 'auto_deny' }] }),
    policy({ id: 'on', priority: 50, rules: [{ match: {}, decision: 'auto_approve' }] }),
  ]);
  // when evaluating
  const result = engine.evaluate(subject());
  // then the enabled policy decides
  t.equal(result.policyId, 'on');
  t.equal(result.decision, 'auto_approve');
  t.same(engine.policyIds, ['on']);
});

t.test('the first matching rule wins, within and across policies', async (t) => {
  // given a policy whose first rule is specific and second is a catch-all
  const engine = compilePolicies([
    policy({
      id: 'first',
      priority: 1,
      rules: [
        { match: { action: 'delete_repo' }, decision: 'auto_deny' },
        { match: { action: 'send_email' }, decision: 'auto_approve' },
        { match: {}, decision: 'route_to_human' },
      ],
    }),
    policy({
      id: 'second',
      priority: 2,
      rules: [{ match: { action: 'send_email' }, decision: 'auto_deny' }],
    }),
  ]);
  // when / then each subject stops at the first rule that matches
  const deny = engine.evaluate(subject({ action: 'delete_repo' }));
  t.equal(deny.decision, 'auto_deny');
  t.equal(deny.ruleIndex, 0);
  const email = engine.evaluate(subject({ action: 'send_email' }));
  t.equal(email.decision, 'auto_approve');
  t.equal(email.ruleIndex, 1);
  t.equal(email.policyId, 'first', 'a later policy never overrides an earlier match');
  const other = engine.evaluate(subject({ action: 'other' }));
  t.equal(other.decision, 'route_to_human');
  t.equal(other.ruleIndex, 2);
  t.equal(other.policyId, 'first');
});

t.test('no match routes to a human with no policy', async (t) => {
  // given a policy that does not apply
  const engine = compilePolicies([
    policy({ id: 'p', rules: [{ match: { action: 'x' }, decision: 'auto_approve' }] }),
  ]);
  // when evaluating an unrelated action
  const result = engine.evaluate(subject());
  // then the fallback is returned
  t.same(result, {
    decision: 'route_to_human',
    policyId: null,
    policyVersion: null,
    policyName: null,
    ruleIndex: null,
    approvers: [],
    channels: [],
    requireReason: false,
    requireDistinctApprover: false,
    reason: 'no policy matched; routed to a human',
  });
  t.equal(compilePolicies([]).evaluate(subject()).policyId, null, 'no policies at all');
});

t.test('a matched rule reports its policy, options and a readable reason', async (t) => {
  // given a rule with routing options
  const engine = compilePolicies([
    policy({
      id: 'pol_1',
      version: 7,
      name: 'auto-approve-emails',
      priority: 10,
      rules: [
        { match: { action: 'nope' }, decision: 'auto_deny' },
        {
          match: { action: 'send_email' },
          decision: 'route_to_human',
          approvers: ['reviewer:ops', 'key:key_01j00000000000000000000000'],
          channels: ['slack'],
          requireReason: true,
          requireDistinctApprover: true,
        },
      ],
    }),
  ]);
  // when evaluating
  const result = engine.evaluate(subject());
  // then everything about the rule is reflected
  t.same(result, {
    decision: 'route_to_human',
    policyId: 'pol_1',
    policyVersion: 7,
    policyName: 'auto-approve-emails',
    ruleIndex: 1,
    approvers: ['reviewer:ops', 'key:key_01j00000000000000000000000'],
    channels: ['slack'],
    requireReason: true,
    requireDistinctApprover: true,
    reason: 'matched rule 1 of policy "auto-approve-emails" (priority 10)',
  });
  // and the returned lists are copies, so mutating them cannot leak into later results
  result.approvers.push('mallory');
  t.same(engine.evaluate(subject()).approvers, ['reviewer:ops', 'key:key_01j00000000000000000000000']);
});

t.test('optional rule fields default to empty / false', async (t) => {
  const result = evaluatePolicies(
    [policy({ id: 'p', rules: [{ match: {}, decision: 'auto_approve' }] })],
    subject(),
  );
  t.same(result.approvers, []);
  t.same(result.channels, []);
  t.equal(result.requireReason, false);
  t.equal(result.requireDistinctApprover, false);
});

// ---------------------------------------------------------------------------
// Keys and paths
// ---------------------------------------------------------------------------

t.test('an empty match matches everything', async (t) => {
  t.ok(matches({}));
  t.ok(matches({}, { action: 'anything', params: {}, context: {} }));
});

t.test('all keys of a match are ANDed', async (t) => {
  t.ok(matches({ action: 'send_email', urgency: 'normal' }));
  t.notOk(matches({ action: 'send_email', urgency: 'high' }));
  t.notOk(matches({ action: 'other', urgency: 'normal' }));
});

t.test('a bare key looks in params', async (t) => {
  // given amount lives in params
  t.ok(matches({ amount: 50 }, { params: { amount: 50 } }));
  t.ok(matches({ 'to': 'alice@example.com' }));
  // then a value that exists only in context is not found through a bare key
  t.notOk(matches({ amount: 50 }, { params: {}, context: { amount: 50 } }));
  t.notOk(matches({ amount: 50 }, { params: { amount: 51 } }));
});

t.test('nested dot paths resolve into context and params', async (t) => {
  t.ok(matches({ 'context.agent.name': 'billing-bot' }));
  t.notOk(matches({ 'context.agent.name': 'other-bot' }));
  t.notOk(matches({ 'context.agent.name': 'billing-bot' }, { context: { agent: 'billing-bot' } }));
  t.ok(matches({ 'params.meta.region': 'eu' }, { params: { meta: { region: 'eu' } } }));
  t.ok(matches({ 'meta.region': 'eu' }, { params: { meta: { region: 'eu' } } }), 'bare nested key');
  t.ok(matches({ 'params.to.1': 'b' }, { params: { to: ['a', 'b'] } }), 'array index segment');
});

t.test('paths never walk the prototype chain', async (t) => {
  t.ok(matches({ 'params.constructor': { $exists: false } }));
  t.ok(matches({ 'context.toString': { $exists: false } }));
  t.notOk(matches({ 'action.length': { $exists: true } }), 'no properties of strings');
});

t.test('requester.keyId can be matched', async (t) => {
  t.ok(matches({ 'requester.keyId': 'key_123' }));
  t.notOk(matches({ 'requester.keyId': 'key_123' }, { requester: { keyId: 'key_999', keyName: 'ci' } }));
});

t.test('the requester is matched by key id only, never by its name (names are not unique)', async (t) => {
  for (const key of ['requester.keyName', 'requester', 'requester.keyId.length', 'requester.name']) {
    const path = `rules[0].match.${key}`;
    t.match(errorFor([{ match: { [key]: 'ci' }, decision: 'auto_approve' }], path), /only requester\.keyId.*not unique/, `${key} is refused`);
  }
  t.throws(() => compilePolicies([{ id: 'p', name: 'p', priority: 1, enabled: true, version: 1, rules: [{ match: { 'requester.keyName': 'ci' }, decision: 'auto_approve' }] }]));
});

// ---------------------------------------------------------------------------
// Literals
// ---------------------------------------------------------------------------

t.test('literals compare by strict equality', async (t) => {
  t.ok(matches({ flag: true }, { params: { flag: true } }));
  t.notOk(matches({ flag: true }, { params: { flag: 'true' } }));
  t.ok(matches({ n: 5 }, { params: { n: 5 } }));
  t.notOk(matches({ n: 5 }, { params: { n: '5' } }));
  t.ok(matches({ v: null }, { params: { v: null } }));
  t.notOk(matches({ v: null }, { params: {} }), 'null does not match a missing value');
  t.notOk(matches({ urgency: 'Normal' }), 'case sensitive');
});

// ---------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------

t.test('$eq and $ne use deep equality', async (t) => {
  t.ok(matches({ 'params.cfg': { $eq: { a: [1, 2], b: null } } }, { params: { cfg: { b: null, a: [1, 2] } } }));
  t.notOk(matches({ 'params.cfg': { $eq: { a: [1, 2] } } }, { params: { cfg: { a: [2, 1] } } }));
  t.notOk(matches({ 'params.cfg': { $eq: { a: 1 } } }, { params: { cfg: { a: 1, extra: 2 } } }));
  t.ok(matches({ urgency: { $ne: 'high' } }));
  t.notOk(matches({ urgency: { $ne: 'normal' } }));
  t.ok(matches({ missing: { $ne: 'x' } }), '$ne matches an absent value');
});

t.test('$in and $nin', async (t) => {
  t.ok(matches({ urgency: { $in: ['low', 'normal'] } }));
  t.notOk(matches({ urgency: { $in: ['high', 'critical'] } }));
  t.notOk(matches({ urgency: { $in: [] } }));
  t.ok(matches({ 'params.tag': { $in: [{ k: 1 }] } }, { params: { tag: { k: 1 } } }), 'deep equality');
  t.ok(matches({ urgency: { $nin: ['high', 'critical'] } }));
  t.notOk(matches({ urgency: { $nin: ['normal'] } }));
});

t.test('$lt $lte $gt $gte compare numbers only', async (t) => {
  t.ok(matches({ amount: { $lt: 51 } }));
  t.notOk(matches({ amount: { $lt: 50 } }));
  t.ok(matches({ amount: { $lte: 50 } }));
  t.notOk(matches({ amount: { $lte: 49.99 } }));
  t.ok(matches({ amount: { $gt: 49 } }));
  t.notOk(matches({ amount: { $gt: 50 } }));
  t.ok(matches({ amount: { $gte: 50 } }));
  t.notOk(matches({ amount: { $gte: 50.01 } }));
  // a numeric-looking string is not a number
  t.notOk(matches({ amount: { $lt: 100 } }, { params: { amount: '50' } }));
  t.notOk(matches({ amount: { $gte: 0 } }, { params: {} }), 'missing value');
  t.notOk(matches({ amount: { $lt: 100 } }, { params: { amount: null } }));
});

t.test('operators in one object are ANDed', async (t) => {
  t.ok(matches({ amount: { $gte: 10, $lt: 100 } }));
  t.notOk(matches({ amount: { $gte: 10, $lt: 50 } }));
  t.notOk(matches({ amount: { $gte: 60, $lt: 100 } }));
});

t.test('$regex searches strings with RE2', async (t) => {
  t.ok(matches({ to: { $regex: '@example\\.com$' } }));
  t.notOk(matches({ to: { $regex: '@example\\.org$' } }));
  t.notOk(matches({ to: { $regex: '^example' } }), 'anchors are honoured');
  t.notOk(matches({ amount: { $regex: '5' } }), 'a number is not a string');
});

t.test('$regex with the i flag is case-insensitive', async (t) => {
  t.ok(matches({ to: { $regex: '@EXAMPLE\\.COM$', $flags: 'i' } }));
  t.notOk(matches({ to: { $regex: '@EXAMPLE\\.COM$' } }), 'without the flag case matters');
  t.notOk(matches({ to: { $regex: 'ALICE', $flags: '' } }), 'empty flags = case-sensitive');
  t.ok(matches({ to: { $regex: 'ALICE', $flags: 'i' } }));
});

t.test('$regex cannot backtrack catastrophically', async (t) => {
  // given a classic exponential-backtracking pattern and a hostile input
  const hostile = 'a'.repeat(50_000) + '!';
  // when evaluating (this would hang with a backtracking engine)
  const start = Date.now();
  const result = matches({ payload: { $regex: '(a+)+$' } }, { params: { payload: hostile } });
  const elapsed = Date.now() - start;
  // then it finishes with the correct answer (the trailing "!" prevents a match)
  t.equal(result, false);
  t.comment(`hostile regex evaluated in ${elapsed} ms`);
  // and the same pattern still matches when the input allows it
  t.ok(matches({ payload: { $regex: '(a+)+$' } }, { params: { payload: 'a'.repeat(50_000) } }));
});

t.test('$exists', async (t) => {
  t.ok(matches({ to: { $exists: true } }));
  t.notOk(matches({ to: { $exists: false } }));
  t.ok(matches({ cc: { $exists: false } }));
  t.notOk(matches({ cc: { $exists: true } }));
  t.ok(matches({ cc: { $exists: true } }, { params: { cc: null } }), 'null counts as present');
});

t.test('$startsWith and $endsWith', async (t) => {
  t.ok(matches({ to: { $startsWith: 'alice@' } }));
  t.notOk(matches({ to: { $startsWith: 'bob@' } }));
  t.ok(matches({ to: { $endsWith: '.com' } }));
  t.notOk(matches({ to: { $endsWith: '.org' } }));
  t.notOk(matches({ amount: { $startsWith: '5' } }), 'non-string actual');
});

t.test('$contains on strings and arrays', async (t) => {
  t.ok(matches({ to: { $contains: 'example' } }));
  t.notOk(matches({ to: { $contains: 'evil' } }));
  t.ok(matches({ tags: { $contains: 'prod' } }, { params: { tags: ['dev', 'prod'] } }));
  t.notOk(matches({ tags: { $contains: 'staging' } }, { params: { tags: ['dev', 'prod'] } }));
  t.notOk(matches({ tags: { $contains: 'pro' } }, { params: { tags: ['dev', 'prod'] } }), 'array membership is whole-element');
  t.ok(matches({ ids: { $contains: 3 } }, { params: { ids: [1, 2, 3] } }));
  t.ok(matches({ rows: { $contains: { id: 2 } } }, { params: { rows: [{ id: 1 }, { id: 2 }] } }));
  t.notOk(matches({ amount: { $contains: '5' } }), 'a number is neither string nor array');
});

// ---------------------------------------------------------------------------
// Action globs
// ---------------------------------------------------------------------------

t.test('action globs', async (t) => {
  // * spans any characters including dots
  t.ok(matches({ action: 'deploy.*' }, { action: 'deploy.prod' }));
  t.ok(matches({ action: 'deploy.*' }, { action: 'deploy.prod.eu' }));
  t.notOk(matches({ action: 'deploy.*' }, { action: 'deploy' }));
  t.notOk(matches({ action: 'deploy.*' }, { action: 'redeploy.prod' }), 'globs are anchored');
  t.notOk(matches({ action: 'deploy.*' }, { action: 'deployXprod' }), 'the dot is literal');
  t.ok(matches({ action: '*_email' }, { action: 'send_email' }));
  t.notOk(matches({ action: '*_email' }, { action: 'send_email_later' }));
  // ? is exactly one character once the string is a glob
  t.ok(matches({ action: 'db.?et*' }, { action: 'db.get' }));
  t.notOk(matches({ action: 'db.?et*' }, { action: 'db.et' }));
  // regex metacharacters stay literal
  t.ok(matches({ action: 'file(1)+*' }, { action: 'file(1)+.txt' }));
  t.notOk(matches({ action: 'file(1)+*' }, { action: 'file11.txt' }));
});

t.test('globs apply only to literal strings on the action key', async (t) => {
  t.notOk(matches({ action: { $eq: 'deploy.*' } }, { action: 'deploy.prod' }), '$eq is exact');
  t.ok(matches({ action: { $eq: 'deploy.*' } }, { action: 'deploy.*' }));
  t.notOk(matches({ to: 'alice*' }), 'other keys compare literally');
  t.ok(matches({ to: 'alice*' }, { params: { to: 'alice*' } }));
  t.notOk(matches({ action: 'send_emai?' }), 'without * the ? is literal');
});

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

t.test('well-formed rules validate', async (t) => {
  const rules: Rule[] = [
    {
      match: {
        action: 'deploy.*',
        amount: { $gte: 0, $lt: 100 },
        'params.to': { $regex: '@example\\.com$', $flags: 'i' },
        'context.agent.name': { $in: ['a', 'b'] },
        'requester.keyId': { $exists: true },
      },
      decision: 'auto_approve',
      approvers: ['reviewer:ops'],
      channels: ['email'],
      requireReason: true,
      requireDistinctApprover: false,
    },
    { match: {}, decision: 'route_to_human' },
  ];
  t.same(validatePolicyRules(rules), { ok: true });
});

t.test('a backreference is refused as unsafe', async (t) => {
  const message = errorFor([{ match: { 'params.to': { $regex: '(a)\\1' } }, decision: 'auto_deny' }], 'rules[0].match.params.to.$regex');
  t.match(message, /unsafe pattern/);
});

t.test('a lookahead is refused as unsafe', async (t) => {
  const message = errorFor([{ match: { 'params.to': { $regex: '(?=x)' } }, decision: 'auto_deny' }], 'rules[0].match.params.to.$regex');
  t.match(message, /unsafe pattern/);
  t.same(
    errorPaths([{ match: {}, decision: 'auto_deny' }, { match: { to: { $regex: '(?<!x)y' } }, decision: 'auto_deny' }]),
    ['rules[1].match.to.$regex'],
    'lookbehind too, with the rule index in the path',
  );
});

t.test('an unknown operator is refused', async (t) => {
  const message = errorFor([{ match: { amount: { $between: [1, 2] } }, decision: 'auto_approve' }], 'rules[0].match.amount.$between');
  t.match(message, /unknown operator \$between/);
  t.same(errorPaths([{ match: { amount: { value: 1 } }, decision: 'auto_approve' }]), ['rules[0].match.amount.value']);
  t.match(
    errorFor([{ match: { $or: [{ a: 1 }, { b: 2 }] }, decision: 'auto_approve' }], 'rules[0].match.$or'),
    /top-level operators/,
  );
});

t.test('$lt with a string operand is refused', async (t) => {
  const message = errorFor([{ match: { amount: { $lt: '100' } }, decision: 'auto_approve' }], 'rules[0].match.amount.$lt');
  t.match(message, /finite number/);
});

t.test('other operand type errors are refused', async (t) => {
  const bad = [
    {
      match: {
        a: { $in: 'x' },
        b: { $exists: 'yes' },
        c: { $regex: 5 },
        d: { $startsWith: 1 },
        e: { $regex: 'x', $flags: 'g' },
        f: { $flags: 'i' },
        g: { $gte: Number.POSITIVE_INFINITY },
        h: [1, 2],
        i: {},
      },
      decision: 'auto_approve',
    },
  ];
  t.same(errorPaths(bad).sort(), [
    'rules[0].match.a.$in',
    'rules[0].match.b.$exists',
    'rules[0].match.c.$regex',
    'rules[0].match.d.$startsWith',
    'rules[0].match.e.$flags',
    'rules[0].match.f.$flags',
    'rules[0].match.g.$gte',
    'rules[0].match.h',
    'rules[0].match.i',
  ].sort());
});

t.test('overlong patterns and globs are refused', async (t) => {
  t.match(
    errorFor([{ match: { to: { $regex: 'a'.repeat(1001) } }, decision: 'auto_deny' }], 'rules[0].match.to.$regex'),
    /longer than 1000/,
  );
  t.same(validatePolicyRules([{ match: { to: { $regex: 'a'.repeat(1000) } }, decision: 'auto_deny' }]), { ok: true });
  t.match(
    errorFor([{ match: { action: '*' + 'a'.repeat(1000) }, decision: 'auto_deny' }], 'rules[0].match.action'),
    /longer than 1000/,
  );
});

t.test('empty match paths and empty segments are refused', async (t) => {
  t.same(
    errorPaths([
      {
        match: { '': 1, 'params..to': 1, '.to': 1, 'to.': 1, 'params.to': 1 },
        decision: 'auto_approve',
      },
    ]).sort(),
    ['rules[0].match.', 'rules[0].match.params..to', 'rules[0].match..to', 'rules[0].match.to.'].sort(),
  );
});

t.test('more than 100 rules are refused', async (t) => {
  const rule = { match: {}, decision: 'auto_approve' };
  t.same(validatePolicyRules(Array.from({ length: 100 }, () => rule)), { ok: true });
  t.same(errorPaths(Array.from({ length: 101 }, () => rule)), ['rules']);
});

t.test('rule shape errors are refused', async (t) => {
  t.same(errorPaths('nope'), ['rules']);
  t.same(errorPaths([42]), ['rules[0]']);
  t.same(
    errorPaths([
      { decision: 'approve', approvers: 'ops', channels: [''], requireReason: 'yes', extra: 1 },
    ]).sort(),
    [
      'rules[0].extra',
      'rules[0].match',
      'rules[0].decision',
      'rules[0].approvers',
      'rules[0].channels[0]',
      'rules[0].requireReason',
    ].sort(),
  );
});

t.test('approvers are identities, never display names', async (t) => {
  const rule = (approvers: string[]) => [{ match: {}, decision: 'route_to_human', approvers }];
  t.same(validatePolicyRules(rule(['*', 'key_01j00000000000000000000000', 'key:key_01j00000000000000000000000', 'reviewer:ann@example.com'])), { ok: true });
  t.same(errorPaths(rule(['alice', 'key:alice', 'reviewer:'])), ['rules[0].approvers[0]', 'rules[0].approvers[1]', 'rules[0].approvers[2]']);
});

t.test('compilePolicies refuses invalid enabled policies and ignores disabled ones', async (t) => {
  const badRules = [{ match: { to: { $regex: '(a)\\1' } }, decision: 'auto_deny' }] as unknown as Rule[];
  // given an enabled invalid policy, compilation throws with the offending path
  let thrown: unknown;
  try {
    compilePolicies([policy({ id: 'bad', rules: badRules })]);
  } catch (err) {
    thrown = err;
  }
  t.ok(thrown instanceof PolicyCompileError, 'throws PolicyCompileError');
  if (thrown instanceof PolicyCompileError) {
    t.equal(thrown.policyId, 'bad');
    t.same(thrown.errors.map((e) => e.path), ['rules[0].match.to.$regex']);
    t.match(thrown.message, /policy "bad" is invalid: rules\[0\]\.match\.to\.\$regex/);
  }
  // given the same policy disabled, it is not compiled at all
  const engine = compilePolicies([policy({ id: 'bad', enabled: false, rules: badRules })]);
  t.equal(engine.evaluate(subject()).policyId, null);
});
