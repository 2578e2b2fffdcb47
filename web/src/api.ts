/** The one client of the API: the SDK, authenticated by the session cookie (never by a key kept here). */
import { AgentGateClient, AgentGateError } from '@agentgate/sdk';

export const client = new AgentGateClient({
  baseUrl: window.location.origin,
  credentials: 'same-origin',
  headers: { 'x-agentgate-channel': 'dashboard' },
  retries: 1,
});

/** The server's words for a refusal, e.g. "A request cannot be decided by the key that created it". */
export function errorText(err: unknown): string {
  if (err instanceof AgentGateError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export const isUnauthorized = (err: unknown) => err instanceof AgentGateError && err.status === 401;
export { AgentGateError };
