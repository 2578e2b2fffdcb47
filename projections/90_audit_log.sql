-- The audit log: readable entries computed from `events` when read, secrets removed. Views,
-- so an event is stored once. Every event is one entry (audit_event_entries); a policy's
-- decision made as a request was created, which the log records inside that
-- `request.created` (data.autoDecision), is an entry of its own (audit_decision_entries),
-- so an auditor reads "created by key:X" then "approved by policy:Y" as for any decision.
-- `audit_log` is both, each entry keyed by (id, part): id is the event's position, part 0
-- the event's own entry and 1 the decision it carries. The filters use indexes of `events`
-- (sql/0010_audit_from_events.sql, sql/0060_audit_policy_decisions.sql); audit/queries.ts
-- reads each view on its own and phrases its filters so they do.
-- (It was a table, a copy of every event with five indexes: dropped when this file runs
-- on a database that still has it.)
do $$ begin
  if (select relkind from pg_class where oid = to_regclass('audit_log')) = 'r' then
    drop table audit_log cascade;
  end if;
end $$;
drop function if exists project_audit_log(events);
drop view if exists audit_log;
drop view if exists audit_event_entries;
drop view if exists audit_decision_entries;

create view audit_event_entries as
select
  e.position as id,
  0 as part,
  e.stream_id,
  e.stream_type,
  -- A webhook delivery of a request's event is part of that request's trail too.
  case when e.stream_type = 'request' then substr(e.stream_id, 9) else substr(src.stream_id, 9) end as request_id,
  case when e.stream_type = 'request' then substr(e.type, 9) else e.type end as event_type,  -- created, approved, policy.updated, ...
  e.type as event_name,
  r.action,
  -- A policy's decision in older logs is appended with the requester's metadata; the
  -- decider in the data is who actually decided.
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

-- The decision a policy made as the request was created: read like the request.approved /
-- request.denied an older log holds for it (the same eventType, event and details), the
-- policy as its actor, at the position of the request.created that carries it. The WHERE
-- is the predicate of the partial indexes of sql/0060_audit_policy_decisions.sql.
create view audit_decision_entries as
select
  e.position as id,
  1 as part,
  e.stream_id,
  e.stream_type,
  substr(e.stream_id, 9) as request_id,
  e.data#>>'{autoDecision,status}' as event_type,  -- approved, denied
  'request.' || (e.data#>>'{autoDecision,status}') as event_name,
  r.action,
  e.data#>'{autoDecision,decider}' as actor,  -- { type: policy, id, name: policy:<name> }
  e.metadata->>'channel' as channel,
  jsonb_build_object('decider', e.data#>'{autoDecision,decider}', 'label', null,
    'reason', e.data#>'{autoDecision,reason}', 'policy', e.data->'policy') as details,
  e.recorded_at as created_at,
  r.status as request_status,
  r.urgency as request_urgency
from events e
left join requests r on r.id = substr(e.stream_id, 9)
where e.type = 'request.created' and jsonb_typeof(e.data->'autoDecision') = 'object';

-- Every entry, for reading by hand: ordered by (id, part) it is the log's order.
create view audit_log as
select * from audit_event_entries
union all
select * from audit_decision_entries;
