export { AgentGateClient, type AgentGateClientOptions, type CallSignal } from './client.ts';
export { AgentGateError, TimeoutError } from './errors.ts';
export type { WaitOptions } from './wait.ts';
export type { EventFilter, EventsOptions, ExportOptions, LiveEvent, StreamStatus } from './events.ts';
export type * from './types.ts';
