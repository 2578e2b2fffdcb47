/**
 * Test messages: the API records the request for one (and its job, in the same
 * transaction); the worker sends it through the channel's adapter and records the outcome.
 */
import type { Task } from 'graphile-worker';
import type { Sql } from '../db/connect.ts';
import { executeCommand } from '../events/command.ts';
import { streamId, type EventMetadata } from '../events/types.ts';
import { newId } from '../ids.ts';
import { NOTIFIER_METADATA } from './notification-store.ts';
import type { Channels } from './registry.ts';
import {
  decideChannelTest, evolveChannelTest, initialChannelTestState, type ChannelTestCommand, type ChannelTestState,
} from './test-decider.ts';
import type { ChannelType } from './types.ts';

export function runChannelTestCommand(sql: Sql, channel: ChannelType, command: ChannelTestCommand, metadata: EventMetadata) {
  return executeCommand<ChannelTestState>(sql, {
    streamId: streamId('channel', channel),
    streamType: 'channel',
    initial: initialChannelTestState,
    evolve: evolveChannelTest,
    decide: (s) => decideChannelTest(command, s),
    metadata,
  });
}

export async function requestChannelTest(sql: Sql, channel: ChannelType, target: string | null, metadata: EventMetadata): Promise<string> {
  const testId = newId('channelTest');
  await runChannelTestCommand(sql, channel, { type: 'request_test', testId, channel, target }, metadata);
  return testId;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err)).slice(0, 500);

/** The `channel_test` job: one attempt, its outcome recorded either way. */
export const sendChannelTest = (sql: Sql, channels: Channels): Task => async (payload) => {
  const { testId, channel } = payload as { testId: string; channel: ChannelType };
  const adapter = channels.adapters[channel];
  const record = (command: ChannelTestCommand) => runChannelTestCommand(sql, channel, command, NOTIFIER_METADATA);
  if (!adapter) {
    await record({ type: 'record_failed', testId, error: `${channel} is not configured in the worker` });
    return;
  }
  try {
    const sent = await adapter.test();
    await record({ type: 'record_sent', testId, target: sent.target, messageId: sent.messageId });
  } catch (err) {
    await record({ type: 'record_failed', testId, error: errorText(err) });
  }
};
