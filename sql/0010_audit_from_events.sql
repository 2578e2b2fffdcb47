-- The audit log becomes a view over `events` (projections/90_audit_log.sql) instead of a
-- copy of every event with five indexes of its own. What its filters need that `events`
-- did not index yet is indexed here; an index no query uses any more goes.

-- Who an audit entry names as its actor: a decision's decider (a policy's automatic
-- decision is appended with the requester's metadata), else the metadata's actor, else the
-- server itself. Immutable, so the index below and the view's column are one expression.
create function event_actor(data jsonb, metadata jsonb) returns jsonb
language sql immutable parallel safe as $$
  select coalesce(data->'decider', metadata->'actor', '{"type":"system","id":"system","name":"system"}'::jsonb)
$$;

-- Printed-actor filters (key:ops-bot, system) and the distinct-actor list (a loose index
-- scan, GET /api/audit/actors).
create index events_actor_idx on events ((event_actor(data, metadata)->>'type'), (event_actor(data, metadata)->>'name'));

-- A webhook delivery of a request's event belongs to that request's trail: found from the
-- announced event's position. Partial: only delivery events carry an index entry.
create index events_delivery_source_idx on events (((data->>'eventPosition')::bigint))
  where type in ('webhook.delivery_attempted', 'webhook.redelivery_requested');

-- Its one reader (the bootstrap's "is there any key yet?") asks api_keys now; live readers
-- filter by stream type while walking (tx_id, position).
drop index events_stream_type_position_idx;
