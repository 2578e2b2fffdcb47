-- The audit log: one readable entry per event, secrets removed.
drop table if exists audit_log cascade;

create table audit_log (
  id          bigint primary key,      -- the event's position
  stream_id   text not null,
  stream_type text not null,
  request_id  text,
  event_type  text not null,           -- short name: created, approved, policy.updated, ...
  event_name  text not null,           -- the event's full type
  action      text,
  actor       jsonb not null,
  channel     text,
  details     jsonb not null,
  created_at  timestamptz not null
);
create index audit_log_request_idx on audit_log (request_id, id);
create index audit_log_event_type_idx on audit_log (event_type, id);
create index audit_log_created_idx on audit_log (created_at, id);
create index audit_log_actor_idx on audit_log ((actor->>'name'), id);
-- Filters by printed actor (key:ops-bot) and the distinct-actor list (a loose index scan).
create index audit_log_actor_type_name_idx on audit_log ((actor->>'type'), (actor->>'name'));

create or replace function project_audit_log(e events) returns void language plpgsql as $$
declare
  v_request_id text;
  v_action text;
begin
  if e.stream_type = 'request' then
    v_request_id := substr(e.stream_id, 9);
    v_action := coalesce(e.data->>'action', (select action from requests where id = v_request_id));
  elsif e.type in ('webhook.delivery_attempted', 'webhook.redelivery_requested') and e.data->>'eventPosition' is not null then
    -- A webhook delivery of a request's event is part of that request's trail too
    -- (the causing event is earlier in the log, so its entry is already here).
    select a.request_id, a.action into v_request_id, v_action from audit_log a where a.id = (e.data->>'eventPosition')::bigint;
  end if;
  insert into audit_log (id, stream_id, stream_type, request_id, event_type, event_name, action, actor, channel, details, created_at)
  values (
    e.position, e.stream_id, e.stream_type, v_request_id,
    case when e.stream_type = 'request' then substr(e.type, 9) else e.type end,
    e.type, v_action,
    -- A policy's decision is appended with the requester's metadata; the decider in the
    -- data is who actually decided.
    coalesce(e.data->'decider', e.metadata->'actor', '{"type":"system","id":"system","name":"system"}'::jsonb),
    e.metadata->>'channel',
    -- Secrets never reach the audit log; a delivery's full payload stays in the event only.
    case when e.type = 'webhook.delivery_attempted' then e.data - 'body' else e.data end
      - 'secret' - 'keyHash' - 'idempotency' - 'approveTokenHash' - 'denyTokenHash' - 'tokenHash',
    e.recorded_at);
end;
$$;
