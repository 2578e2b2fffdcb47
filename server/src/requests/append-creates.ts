/**
 * The append of new requests: one INSERT statement, no explicit transaction (a single
 * statement is atomic: the projections and job triggers run inside it). A new stream has
 * no history to load and no version to check beyond `unique (stream_id, version)`.
 *
 * The statement appends only while `policy_set.version` is still the version the outcomes
 * were evaluated with (see policies/policy-set.ts): otherwise it appends nothing and the
 * caller evaluates again with fresh policies.
 */
import type { Sql } from '../db/connect.ts';
import { committed } from '../events/command.ts';
import type { EventMetadata } from '../events/types.ts';
import { streamId } from '../events/types.ts';
import type { RequestCreatedData } from './decider.ts';

export interface NewRequest {
  data: RequestCreatedData;
  metadata: EventMetadata;
}

/** Where an appended `request.created` landed in the log. */
export interface AppendedCreate {
  position: number;
  recordedAt: Date;
}

interface Row {
  stream_id: string;
  position: number;
  tx_id: string;
  recorded_at: Date;
}

/**
 * Appends one `request.created` per item, in order, in one statement. Returns one result
 * per item, or null when the policies changed since `policyVersion` (nothing appended).
 */
export async function appendCreates(sql: Sql, items: readonly NewRequest[], policyVersion: number): Promise<AppendedCreate[] | null> {
  const rows = items.map((i) => ({ stream_id: streamId('request', i.data.id), data: i.data, metadata: i.metadata }));
  const inserted = await sql<Row[]>`
    insert into events (stream_id, stream_type, version, type, data, metadata)
    select x.item->>'stream_id', 'request', 1, 'request.created', x.item->'data', x.item->'metadata'
    from jsonb_array_elements(${sql.json(rows as never)}::jsonb) with ordinality as x(item, n)
    where (select version from policy_set) = ${policyVersion}
    order by x.n
    returning stream_id, position, tx_id::text, recorded_at`;
  if (inserted.length === 0) return null;
  const byStream = new Map(inserted.map((r) => [r.stream_id, r]));
  const appended = items.map((item, i) => {
    const row = byStream.get(rows[i]!.stream_id);
    if (!row) throw new Error(`append of ${rows[i]!.stream_id} returned no row`);
    return {
      position: Number(row.position), txId: row.tx_id, streamId: row.stream_id, streamType: 'request', version: 1,
      type: 'request.created', data: item.data as unknown as Record<string, unknown>, metadata: item.metadata, recordedAt: row.recorded_at,
    };
  });
  // A single statement commits on its own: the events are committed now.
  committed(appended, sql);
  return appended.map((e) => ({ position: e.position, recordedAt: e.recordedAt }));
}
