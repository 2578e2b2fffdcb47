/**
 * Where a routed request is announced: the matched rule's `channels`, each member of a
 * `group:` on their preferred channel, and the configured defaults; a channel that is off
 * (no credentials) is skipped and said so. Pure: the caller supplies the group members.
 */
import type { PreferredChannel } from '../reviewers/decider.ts';
import type { ChannelDefaults, ChannelType, Destination } from './types.ts';

export interface GroupMember {
  id: string;
  email: string | null;
  slackUserId: string | null;
  discordUserId: string | null;
  preferredChannel: PreferredChannel | null;
  groups: string[];
}

export interface Plan {
  destinations: Destination[];
  /** Named but not reachable, with why (an auditor sees it in the log). */
  skipped: { spec: string; reason: string }[];
}

const destination = (channel: ChannelType, target: string, reviewerId?: string): Destination => ({
  key: `${channel}:${channel === 'email' ? target.toLowerCase() : target}`,
  channel, target: channel === 'email' ? target.toLowerCase() : target, ...(reviewerId ? { reviewerId } : {}),
});

/** A member's own address on their preferred channel (else the first they have). */
function memberDestination(m: GroupMember): Destination | null {
  const order: PreferredChannel[] = m.preferredChannel ? [m.preferredChannel, 'slack', 'discord', 'email'] : ['slack', 'discord', 'email'];
  for (const c of order) {
    if (c === 'slack' && m.slackUserId) return destination('slack', m.slackUserId, m.id);
    if (c === 'discord' && m.discordUserId) return destination('discord', m.discordUserId, m.id);
    if (c === 'email' && m.email) return destination('email', m.email, m.id);
  }
  return null;
}

/** Whether any default destination is configured (SLACK_DEFAULT_CHANNEL, DISCORD_DEFAULT_CHANNEL, EMAIL_DEFAULT_TO). */
export const hasDefaultDestination = (defaults: ChannelDefaults): boolean =>
  Boolean(defaults.slack || defaults.discord || defaults.email.length > 0);

/** The kinds of rule channel planDestinations reads (the policy engine admits no other). */
const SPEC_KINDS: ReadonlySet<string> = new Set(['group', 'slack', 'discord', 'email']);

/**
 * Whether planning a routed request's announcements can come to anything: a destination, or
 * a target recorded as skipped. That is so exactly when the rule names a channel or a default
 * destination is configured; otherwise planDestinations returns an empty plan whoever is in
 * the directory and whichever channels are on, so the request needs no planning job. Known
 * from the rule and the configuration alone, so the server decides it as the request is
 * created (the `notify` field of `request.created`).
 */
export function plansAnnouncements(specs: readonly string[], defaultDestination: boolean): boolean {
  return defaultDestination || specs.some((spec) => SPEC_KINDS.has(spec.split(':')[0]!));
}

export function planDestinations(
  specs: readonly string[], defaults: ChannelDefaults, members: readonly GroupMember[], enabled: ReadonlySet<ChannelType>,
): Plan {
  const wanted: { spec: string; dest: Destination | null; reason?: string }[] = [];
  const add = (spec: string, dest: Destination | null, reason?: string) => wanted.push({ spec, dest, ...(reason ? { reason } : {}) });
  for (const spec of specs) {
    const [kind, ...rest] = spec.split(':');
    const target = rest.join(':');
    if (kind === 'group') {
      const inGroup = members.filter((m) => m.groups.includes(target));
      if (inGroup.length === 0) add(spec, null, 'no enabled reviewer in this group');
      for (const m of inGroup) {
        const d = memberDestination(m);
        add(spec, d, d ? undefined : `reviewer ${m.id} has no email, Slack or Discord id`);
      }
    } else if (kind === 'slack' || kind === 'discord') {
      const t = target || defaults[kind];
      add(spec, t ? destination(kind, t) : null, t ? undefined : `no ${kind.toUpperCase()}_DEFAULT_CHANNEL`);
    } else if (kind === 'email') {
      if (target) add(spec, destination('email', target));
      else if (defaults.email.length === 0) add(spec, null, 'no EMAIL_DEFAULT_TO');
      else for (const to of defaults.email) add(spec, destination('email', to));
    }
  }
  if (defaults.slack) add('SLACK_DEFAULT_CHANNEL', destination('slack', defaults.slack));
  if (defaults.discord) add('DISCORD_DEFAULT_CHANNEL', destination('discord', defaults.discord));
  for (const to of defaults.email) add('EMAIL_DEFAULT_TO', destination('email', to));

  const seen = new Set<string>();
  const plan: Plan = { destinations: [], skipped: [] };
  for (const w of wanted) {
    if (!w.dest) { plan.skipped.push({ spec: w.spec, reason: w.reason ?? 'unreachable' }); continue; }
    if (!enabled.has(w.dest.channel)) { plan.skipped.push({ spec: w.spec, reason: `${w.dest.channel} is not configured` }); continue; }
    if (seen.has(w.dest.key)) continue;
    seen.add(w.dest.key);
    plan.destinations.push(w.dest);
  }
  return plan;
}
