/**
 * The printable form of an audit actor, and the filter a printed form stands for.
 *
 * Entries carry the actor twice: `actor` as one string a client can print and filter by
 * (the original project's clients treat it as text), and `actorInfo` with the structured
 * principal (type, id, name, channel…). The string is `<type>:<name>` — `key:ops-bot`,
 * `reviewer:Alice Martin`, `policy:small-payments` — and plain `system` for the server's own
 * work (expiries, deliveries, notifications). Names are not unique: the string is for people
 * and filters; `actorInfo.id` identifies.
 */
export interface ActorInfo {
  type: string;
  id: string;
  name: string;
  [k: string]: unknown;
}

/** Types whose printed form is `<type>:<name>`; any other prefix is part of a plain name. */
export const ACTOR_TYPES = ['key', 'reviewer', 'policy', 'override', 'system'] as const;

export function actorLabel(a: { type: string; name: string }): string {
  if (a.type === 'system') return 'system';
  // A policy's decider is recorded as { type: 'policy', name: 'policy:<name>' } already (an override's, 'override:<id>').
  return a.name.startsWith(`${a.type}:`) ? a.name : `${a.type}:${a.name}`;
}

/** What `?actor=` asks for: a printed form (`key:ops-bot`, `system`), or a bare name or id as before. */
export type ActorFilter =
  | { kind: 'label'; type: string; name: string | null; text: string }
  | { kind: 'plain'; text: string };

export function parseActorFilter(text: string): ActorFilter {
  if (text === 'system') return { kind: 'label', type: 'system', name: null, text };
  const m = /^([a-z]+):(.+)$/.exec(text);
  if (m && (ACTOR_TYPES as readonly string[]).includes(m[1]!)) {
    return { kind: 'label', type: m[1]!, name: m[2]!, text };
  }
  return { kind: 'plain', text };
}
