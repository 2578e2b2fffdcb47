-- The audit log: one readable entry per event, secrets removed. A view over `events`, so
-- an event is stored once: the entry is computed when read. Its filters use the indexes
-- of `events` (position, type, recorded_at, stream_id, and event_actor() and the delivery
-- source from sql/0010_audit_from_events.sql); audit/queries.ts phrases them so they do.
-- (It was a table, a copy of every event with five indexes: dropped when this file runs
-- on a database that still has it.)
do $$ begin
  if (select relkind from pg_class where oid = to_regclass('audit_log')) = 'r' then
    drop table audit_log cascade;
  end if;
end $$;
drop function if exists project_audit_log(events);
drop view if exists audit_log;

create view audit_log as
select
  e.position as id,
  e.stream_id,
  e.stream_type,
  -- A webhook delivery of a request's event is part of that request's trail too.
  case when e.stream_type = 'request' then substr(e.stream_id, 9) else substr(src.stream_id, 9) end as request_id,
  case when e.stream_type = 'request' then substr(e.type, 9) else e.type end as event_type,  -- created, approved, policy.updated, ...
  e.type as event_name,
  r.action,
  -- A policy's decision is appended with the requester's metadata; the decider in the
  -- data is who actually decided.
  event_actor(e.data, e.metadata) as actor,
  e.metadata->>'channel' as channel,
  -- Secrets never reach the audit log; a delivery's full payload stays in the event only.
  case when e.type = 'webhook.delivery_attempted' then e.data - 'body' else e.data end
    - 'secret' - 'keyHash' - 'idempotency' - 'approveTokenHash' - 'denyTokenHash' - 'tokenHash' as details,
  e.recorded_at as created_at,
  -- The request as it stands now, beside the event that touched it.
  r.status as request_status,
  r.urgency as request_urgency
from events e
-- Both joins are on unique keys and left: a query that reads neither column skips them.
left join events src
  on e.type in ('webhook.delivery_attempted', 'webhook.redelivery_requested')
  and src.position = (e.data->>'eventPosition')::bigint and src.stream_type = 'request'
left join requests r
  on r.id = case when e.stream_type = 'request' then substr(e.stream_id, 9) else substr(src.stream_id, 9) end;
