/**
 * Test messages as a pure decider over a channel's own stream (`channel-<type>`): a test
 * is requested (by whoever asked the API), then sent or failed (by the worker), once.
 */
import type { NewEvent } from '../events/types.ts';
import type { ChannelType } from './types.ts';

export type TestStatus = 'queued' | 'sent' | 'failed';

export interface ChannelTestState {
  tests: Record<string, TestStatus>;
  version: number;
}

export const initialChannelTestState = (): ChannelTestState => ({ tests: {}, version: 0 });

export type ChannelTestCommand =
  | { type: 'request_test'; testId: string; channel: ChannelType; target: string | null }
  | { type: 'record_sent'; testId: string; target: string; messageId: string }
  | { type: 'record_failed'; testId: string; error: string };

export type ChannelTestEvent =
  | NewEvent<'channel.test_requested', { testId: string; channel: ChannelType; target: string | null }>
  | NewEvent<'channel.test_sent', { testId: string; target: string; messageId: string }>
  | NewEvent<'channel.test_failed', { testId: string; error: string }>;

export function decideChannelTest(command: ChannelTestCommand, state: ChannelTestState): ChannelTestEvent[] {
  switch (command.type) {
    case 'request_test':
      if (state.tests[command.testId]) return [];
      return [{ type: 'channel.test_requested', data: { testId: command.testId, channel: command.channel, target: command.target } }];
    case 'record_sent':
      // Only a queued test has an outcome to record; a second run of its job records nothing.
      if (state.tests[command.testId] !== 'queued') return [];
      return [{ type: 'channel.test_sent', data: { testId: command.testId, target: command.target, messageId: command.messageId } }];
    case 'record_failed':
      if (state.tests[command.testId] !== 'queued') return [];
      return [{ type: 'channel.test_failed', data: { testId: command.testId, error: command.error } }];
  }
}

export function evolveChannelTest(state: ChannelTestState, event: { type: string; data: Record<string, unknown> } | ChannelTestEvent): ChannelTestState {
  const next = { ...state, version: state.version + 1 };
  const e = event as ChannelTestEvent;
  switch (e.type) {
    case 'channel.test_requested':
      return { ...next, tests: { ...state.tests, [e.data.testId]: 'queued' } };
    case 'channel.test_sent':
      return { ...next, tests: { ...state.tests, [e.data.testId]: 'sent' } };
    case 'channel.test_failed':
      return { ...next, tests: { ...state.tests, [e.data.testId]: 'failed' } };
    default:
      return next;
  }
}
