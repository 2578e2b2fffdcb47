-- One row per message a request was announced with (or was to be): where, the channel's
-- message id, and how its last attempt went. GET /api/channels reads the latest per channel.
drop table if exists notification_messages cascade;

create table notification_messages (
  request_id       text not null,
  destination_key  text not null,
  channel          text not null,
  target           text not null,
  message_id       text,
  ref              jsonb,
  status           text not null,   -- planned, posted, failed, updated
  attempts         integer not null default 0,
  last_error       text,
  posted_at        timestamptz,
  updated_at       timestamptz,
  changed_at       timestamptz not null,
  primary key (request_id, destination_key)
);
create index notification_messages_channel_idx on notification_messages (channel, changed_at desc);

create or replace function project_notifications(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
  v_id text;
begin
  if e.stream_type <> 'request' or e.type not like 'request.notifi%' then return; end if;
  v_id := substr(e.stream_id, 9);
  case e.type
    when 'request.notifications_planned' then
      insert into notification_messages (request_id, destination_key, channel, target, status, changed_at)
      select v_id, x->>'key', x->>'channel', x->>'target', 'planned', e.recorded_at
      from jsonb_array_elements(d->'destinations') x
      on conflict do nothing;
    when 'request.notified' then
      update notification_messages set message_id = d->>'messageId', ref = d->'ref', status = 'posted',
        attempts = attempts + 1, last_error = null, posted_at = e.recorded_at, changed_at = e.recorded_at
      where request_id = v_id and destination_key = d#>>'{destination,key}';
    when 'request.notification_failed' then
      update notification_messages set attempts = attempts + 1, last_error = d->>'error',
        status = case when status in ('posted', 'updated') then status else 'failed' end, changed_at = e.recorded_at
      where request_id = v_id and destination_key = d#>>'{destination,key}';
    when 'request.notification_updated' then
      update notification_messages set status = 'updated', updated_at = e.recorded_at, changed_at = e.recorded_at
      where request_id = v_id and destination_key = d->>'key';
    else null;
  end case;
end;
$$;
