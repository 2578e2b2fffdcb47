import t from 'tap';
import { hasDefaultDestination, planDestinations, plansAnnouncements, type GroupMember } from '../../server/src/channels/destinations.ts';
import type { ChannelDefaults, ChannelType } from '../../server/src/channels/types.ts';

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

t.test('whether a plan comes to anything is known from the rule and the defaults alone', async (t) => {
  const specLists: string[][] = [
    [], ['slack:#x'], ['slack'], ['discord:1'], ['discord'], ['email:a@example.com'], ['email'], ['group:oncall'], ['group:nobody'],
    ['pigeon:coop'], ['slack:#x', 'group:oncall'],
  ];
  const defaultSets: ChannelDefaults[] = [
    { email: [] }, { slack: '#approvals', email: [] }, { discord: '123456789012345678', email: [] }, { email: ['ops@example.com'] },
  ];
  const directories: GroupMember[][] = [[], [member({ slackUserId: 'U0A' })], [member({})]];
  const enabledSets: ReadonlySet<ChannelType>[] = [new Set(), new Set(['email'] as const), all];
  let checked = 0;
  for (const specs of specLists) {
    for (const defaults of defaultSets) {
      const expected = plansAnnouncements(specs, hasDefaultDestination(defaults));
      for (const members of directories) {
        for (const enabled of enabledSets) {
          const plan = planDestinations(specs, defaults, members, enabled);
          const planned = plan.destinations.length + plan.skipped.length > 0;
          if (planned !== expected) t.fail(`${JSON.stringify({ specs, defaults, members, enabled: [...enabled] })}: planned ${planned}`);
          checked++;
        }
      }
    }
  }
  t.equal(checked, specLists.length * defaultSets.length * directories.length * enabledSets.length, 'every combination agrees');
  t.notOk(plansAnnouncements([], false), 'no rule channel, no default: nothing to plan');
  t.ok(plansAnnouncements(['slack:#x'], false), 'a named channel is planned even when off (its skip is recorded)');
  t.ok(plansAnnouncements([], true), 'a default destination is planned');
});
