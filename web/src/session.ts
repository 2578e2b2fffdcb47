/**
 * Who is signed in and what they may do. The session's scopes decide what the UI offers;
 * the server still checks every call. Any 401 (session ended, key revoked) signs the tab out.
 */
import { createSignal } from 'solid-js';
import type { Session } from '@agentgate/sdk';
import { client, errorText, isUnauthorized } from './api.ts';

const [session, setSession] = createSignal<Session | null | undefined>(undefined);
const [signOutNote, setSignOutNote] = createSignal<string | null>(null);
export { session, signOutNote };

/** Same rule as the server: admin holds every scope; policy:write includes policy:read. */
export function can(scope: string): boolean {
  const s = session();
  if (!s) return false;
  return s.scopes.includes('admin') || s.scopes.includes(scope) || (scope === 'policy:read' && s.scopes.includes('policy:write'));
}

export async function loadSession(): Promise<void> {
  try {
    setSession(await client.session());
  } catch (err) {
    if (isUnauthorized(err)) setSession(null);
    else {
      setSignOutNote(`The server did not answer: ${errorText(err)}`);
      setSession(null);
    }
  }
}

export async function signIn(apiKey: string): Promise<void> {
  const s = await client.signIn(apiKey);
  setSignOutNote(null);
  setSession(s);
}

/** Signs in with an emailed one-time link: the session is the reviewer's. */
export async function signInWithLink(token: string): Promise<void> {
  const s = await client.signInWithLink(token);
  setSignOutNote(null);
  setSession(s);
}

export async function signOut(): Promise<void> {
  try {
    await client.signOut();
  } finally {
    setSession(null);
  }
}

/** The session ended on the server (a 401 anywhere, a revoked key closing the stream). */
export function sessionEnded(note: string): void {
  if (session() === null) return;
  setSignOutNote(note);
  setSession(null);
}

/** Call on any failed call: a 401 means the session is over. Returns true when it was one. */
export function handleAuthError(err: unknown): boolean {
  if (!isUnauthorized(err)) return false;
  sessionEnded(errorText(err));
  return true;
}

// An open tab keeps its session: the token renews on calls in its second half-hour.
const KEEPALIVE_MS = 20 * 60 * 1000;
setInterval(() => {
  if (session()) client.session().then(setSession, (err) => handleAuthError(err));
}, KEEPALIVE_MS);
