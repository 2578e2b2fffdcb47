import { monotonicFactory } from 'ulid';

/** Prefixed, time-sortable, opaque ids: `req_01J…`. Clients must not parse them. */
export const ID_PREFIXES = {
  request: 'req',
  policy: 'pol',
  webhook: 'whk',
  apikey: 'key',
  delivery: 'dlv',
  link: 'lnk',
  reviewer: 'rev',
  session: 'ses',
  override: 'ovr',
  channelTest: 'tst',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ulid = monotonicFactory();

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${ulid().toLowerCase()}`;
}

const ID_PATTERN = /^[a-z]{3}_[0-9a-hjkmnp-tv-z]{26}$/;

export function isId(kind: IdKind, value: string): boolean {
  return value.startsWith(`${ID_PREFIXES[kind]}_`) && ID_PATTERN.test(value);
}
