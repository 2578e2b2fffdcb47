/** Every scope a key may hold. `admin` implies all others. */
export const SCOPES = [
  'admin',
  'request:create',
  'request:read',
  'request:decide',
  'webhook:manage',
  'policy:read',
  'policy:write',
  'key:manage',
  'reviewer:manage',
  'audit:read',
] as const;

export type Scope = (typeof SCOPES)[number];

export const hasScope = (held: readonly string[], needed: Scope): boolean =>
  held.includes('admin') || held.includes(needed) ||
  // writing policies includes reading them
  (needed === 'policy:read' && held.includes('policy:write'));
