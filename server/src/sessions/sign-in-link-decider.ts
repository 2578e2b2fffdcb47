/**
 * One-time sign-in links as a pure decider over the reviewer's own stream: a link is
 * issued to the reviewer's email (only its token's hash kept), and used once, within its
 * 15 minutes, by a reviewer still enabled and still at that address.
 */
import { AppError } from '../errors.ts';
import type { NewEvent } from '../events/types.ts';

export const SIGN_IN_LINK_TTL_MS = 15 * 60 * 1000;

export interface IssuedLink {
  email: string;
  expiresAt: string;
  used: boolean;
}

export interface SignInState {
  exists: boolean;
  deleted: boolean;
  disabled: boolean;
  email: string | null;
  name: string;
  links: Record<string, IssuedLink>;
  version: number;
}

export const initialSignInState = (): SignInState => ({ exists: false, deleted: false, disabled: false, email: null, name: '', links: {}, version: 0 });

export type SignInCommand =
  | { type: 'issue'; linkId: string; tokenHash: string; now: Date }
  | { type: 'use'; linkId: string; sessionId: string; now: Date };

export type SignInEvent =
  | NewEvent<'reviewer.sign_in_link_issued', { linkId: string; email: string; tokenHash: string; expiresAt: string }>
  | NewEvent<'reviewer.signed_in', { linkId: string; sessionId: string; via: 'email_link' }>;

/** Every refusal of a link says the same: which of used, expired or unknown it was is nobody's business. */
const gone = () => new AppError('LINK_GONE', 'The sign-in link no longer works: it was used, it expired, or it was not issued here. Ask for a new one.');

export function decideSignIn(command: SignInCommand, state: SignInState): SignInEvent[] {
  switch (command.type) {
    case 'issue':
      // No link for someone who cannot sign in; the caller has already answered the same either way.
      if (!state.exists || state.deleted || state.disabled || !state.email) return [];
      return [{
        type: 'reviewer.sign_in_link_issued',
        data: {
          linkId: command.linkId, email: state.email, tokenHash: command.tokenHash,
          expiresAt: new Date(command.now.getTime() + SIGN_IN_LINK_TTL_MS).toISOString(),
        },
      }];
    case 'use': {
      const link = state.links[command.linkId];
      if (!link || link.used || Date.parse(link.expiresAt) <= command.now.getTime()) throw gone();
      // Disabled, deleted, or moved to another address since the link was sent.
      if (!state.exists || state.deleted || state.disabled || state.email !== link.email) throw gone();
      return [{ type: 'reviewer.signed_in', data: { linkId: command.linkId, sessionId: command.sessionId, via: 'email_link' } }];
    }
  }
}

export function evolveSignIn(state: SignInState, event: { type: string; data: Record<string, unknown> } | SignInEvent): SignInState {
  const next = { ...state, version: state.version + 1 };
  const d = event.data as Record<string, unknown>;
  switch (event.type) {
    case 'reviewer.created':
      return { ...next, exists: true, disabled: d.disabled === true, email: (d.email as string | null) ?? null, name: String(d.name ?? '') };
    case 'reviewer.updated':
      return {
        ...next,
        ...('disabled' in d ? { disabled: d.disabled === true } : {}),
        ...('email' in d ? { email: (d.email as string | null) ?? null } : {}),
        ...('name' in d ? { name: String(d.name) } : {}),
      };
    case 'reviewer.deleted':
      return { ...next, deleted: true };
    case 'reviewer.sign_in_link_issued': {
      const e = event as Extract<SignInEvent, { type: 'reviewer.sign_in_link_issued' }>;
      return { ...next, links: { ...state.links, [e.data.linkId]: { email: e.data.email, expiresAt: e.data.expiresAt, used: false } } };
    }
    case 'reviewer.signed_in': {
      const e = event as Extract<SignInEvent, { type: 'reviewer.signed_in' }>;
      const link = state.links[e.data.linkId];
      return link ? { ...next, links: { ...state.links, [e.data.linkId]: { ...link, used: true } } } : next;
    }
    default:
      return next;
  }
}
