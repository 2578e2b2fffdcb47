import type { FastifyRequest } from 'fastify';
import type { Channel, EventMetadata } from '../events/types.ts';
import { principalOf } from './auth.ts';

const CHANNELS: readonly Channel[] = ['api', 'dashboard', 'cli', 'mcp'];

/**
 * Event metadata for a write made through HTTP: the authenticated actor, the channel
 * (clients may say they are the CLI or the MCP server via X-AgentGate-Channel),
 * the HTTP request id, the client address and an optional correlation id.
 */
export function eventMetadata(request: FastifyRequest): EventMetadata {
  const p = principalOf(request);
  const declared = request.headers['x-agentgate-channel'];
  const channel = typeof declared === 'string' && (CHANNELS as string[]).includes(declared) ? (declared as Channel) : 'api';
  const correlation = request.headers['x-correlation-id'];
  return {
    actor: { type: p.type, id: p.id, name: p.name },
    channel,
    requestId: request.id,
    ip: request.ip,
    ...(typeof correlation === 'string' && correlation.length <= 128 ? { correlationId: correlation } : {}),
  };
}
