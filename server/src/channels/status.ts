/** What GET /api/channels tells about each channel: its last notification and last test. */
import type { Sql } from '../db/connect.ts';
import type { ChannelSetting } from './registry.ts';
import type { ChannelInfo, ChannelTest } from './schemas.ts';
import type { ChannelType } from './types.ts';

interface DeliveryRow {
  channel: string; request_id: string; destination_key: string; status: string; attempts: number; last_error: string | null; changed_at: Date;
}
interface TestRow {
  id: string; channel: string; target: string | null; status: string; message_id: string | null; error: string | null;
  requested_at: Date; finished_at: Date | null;
}

export const toChannelTest = (r: TestRow): ChannelTest => ({
  id: r.id, channel: r.channel as ChannelType, status: r.status as ChannelTest['status'], target: r.target, messageId: r.message_id,
  error: r.error, requestedAt: r.requested_at.toISOString(), finishedAt: r.finished_at?.toISOString() ?? null,
});

export async function channelStatus(sql: Sql, settings: readonly ChannelSetting[]): Promise<ChannelInfo[]> {
  const types = settings.map((s) => s.type);
  // One indexed probe per channel (channel, changed_at desc), however long the history.
  const [deliveries, tests] = await Promise.all([
    sql<DeliveryRow[]>`
      select c as channel, m.request_id, m.destination_key, m.status, m.attempts, m.last_error, m.changed_at
      from unnest(${types}::text[]) c
      cross join lateral (select * from notification_messages where channel = c order by changed_at desc limit 1) m`,
    sql<TestRow[]>`
      select t.* from unnest(${types}::text[]) c
      cross join lateral (select * from channel_tests where channel = c order by requested_at desc limit 1) t`,
  ]);
  return settings.map((s) => {
    const d = deliveries.find((r) => r.channel === s.type);
    const t = tests.find((r) => r.channel === s.type);
    return {
      ...s,
      lastDelivery: d ? {
        requestId: d.request_id, destination: d.destination_key, status: d.status as 'posted', attempts: d.attempts,
        error: d.last_error, at: d.changed_at.toISOString(),
      } : null,
      lastTest: t ? toChannelTest(t) : null,
    };
  });
}

export async function findChannelTest(sql: Sql, id: string): Promise<ChannelTest | null> {
  const [row] = await sql<TestRow[]>`select * from channel_tests where id = ${id}`;
  return row ? toChannelTest(row) : null;
}
