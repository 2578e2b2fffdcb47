-- Webhook deliveries: one row per delivery (an event sent to one webhook, or a test
-- ping, or a redelivery) and one per attempt, from `webhook.delivery_attempted` and
-- `webhook.redelivery_requested`. The primary key of the attempts makes a second
-- record of the same attempt fail, so a job that runs twice records its attempt once.
drop table if exists webhook_delivery_attempts cascade;
drop table if exists webhook_deliveries cascade;

create table webhook_deliveries (
  id               text primary key,
  webhook_id       text not null,
  event            text not null,
  event_position   bigint,
  status           text not null,           -- pending | success | failed
  attempts         integer not null,
  last_status_code integer,
  last_error       text,
  next_attempt_at  timestamptz,
  redelivery_of    text,
  body             text,                    -- exactly what was sent (from the first attempt)
  created_at       timestamptz not null,
  updated_at       timestamptz not null
);
create index webhook_deliveries_webhook_idx on webhook_deliveries (webhook_id, created_at desc, id desc);

create table webhook_delivery_attempts (
  delivery_id     text not null references webhook_deliveries (id) on delete cascade,
  attempt         integer not null,
  position        bigint not null,
  ok              boolean not null,
  status_code     integer,
  duration_ms     integer not null,
  error           text,
  attempted_at    timestamptz not null,
  next_attempt_at timestamptz,
  primary key (delivery_id, attempt)
);

create or replace function project_webhook_deliveries(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
  v_webhook_id text := substr(e.stream_id, 9);
  v_status text;
begin
  if e.stream_type <> 'webhook' then return; end if;
  case e.type
    when 'webhook.redelivery_requested' then
      insert into webhook_deliveries (id, webhook_id, event, event_position, status, attempts, redelivery_of, created_at, updated_at)
      values (d->>'deliveryId', v_webhook_id, d->>'event', (d->>'eventPosition')::bigint, 'pending', 0, d->>'of',
        e.recorded_at, e.recorded_at);
    when 'webhook.delivery_attempted' then
      v_status := case when (d->>'ok')::boolean then 'success'
                       when d->>'nextAttemptAt' is not null then 'pending'
                       else 'failed' end;
      insert into webhook_deliveries (id, webhook_id, event, event_position, status, attempts, last_status_code,
        last_error, next_attempt_at, redelivery_of, body, created_at, updated_at)
      values (d->>'deliveryId', v_webhook_id, d->>'event', (d->>'eventPosition')::bigint, v_status,
        (d->>'attempt')::integer, (d->>'statusCode')::integer, d->>'error', (d->>'nextAttemptAt')::timestamptz,
        d->>'redeliveryOf', d->>'body', e.recorded_at, e.recorded_at)
      on conflict (id) do update set
        status = excluded.status,
        attempts = greatest(webhook_deliveries.attempts, excluded.attempts),
        last_status_code = excluded.last_status_code,
        last_error = excluded.last_error,
        next_attempt_at = excluded.next_attempt_at,
        body = coalesce(webhook_deliveries.body, excluded.body),
        updated_at = excluded.updated_at;
      insert into webhook_delivery_attempts (delivery_id, attempt, position, ok, status_code, duration_ms, error, attempted_at, next_attempt_at)
      values (d->>'deliveryId', (d->>'attempt')::integer, e.position, (d->>'ok')::boolean, (d->>'statusCode')::integer,
        (d->>'durationMs')::integer, d->>'error', (d->>'attemptedAt')::timestamptz, (d->>'nextAttemptAt')::timestamptz);
    when 'webhook.deleted' then
      delete from webhook_deliveries where webhook_id = v_webhook_id;
    else null;
  end case;
end;
$$;
