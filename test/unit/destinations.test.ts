import t from 'tap';
import { planDestinations, type GroupMember } from '../../server/src/channels/destinations.ts';

const all = new Set(['slack', 'discord', 'email'] as const);
const member = (over: Partial<GroupMember>): GroupMember => ({
  id: 'rev_1', email: null, slackUserId: null, discordUserId: null, preferredChannel: null, groups: ['oncall'], ...over,
});

t.test('rule channels, group members on their preferred channel, then the defaults, each once', async (t) => {
  const plan = planDestinations(
    ['slack:#approvals', 'email:Ops@Example.com', 'group:oncall', 'discord'],
    { slack: '#approvals', discord: '123456789012345678', email: ['ops@example.com', 'lead@example.com'] },
    [
      member({ id: 'rev_a', email: 'a@example.com', slackUserId: 'U0A', preferredChannel: 'email' }),
      member({ id: 'rev_b', slackUserId: 'U0B', discordUserId: '223456789012345678' }),
    ],
    all,
  );
  t.same(plan.destinations.map((d) => d.key), [
    'slack:#approvals', 'email:ops@example.com', 'email:a@example.com', 'slack:U0B', 'discord:123456789012345678', 'email:lead@example.com',
  ]);
  t.equal(plan.destinations[2]!.reviewerId, 'rev_a');
  t.same(plan.skipped, []);
});

t.test('a channel that is off, an empty group and a missing default are skipped with the reason', async (t) => {
  const plan = planDestinations(['slack:#x', 'group:nobody', 'discord', 'email:a@example.com'], { email: [] }, [], new Set(['email'] as const));
  t.same(plan.destinations.map((d) => d.key), ['email:a@example.com']);
  t.same(plan.skipped, [
    { spec: 'slack:#x', reason: 'slack is not configured' },
    { spec: 'group:nobody', reason: 'no enabled reviewer in this group' },
    { spec: 'discord', reason: 'no DISCORD_DEFAULT_CHANNEL' },
  ]);
});
