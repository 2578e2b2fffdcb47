-- Webhook subscriptions (their deliveries: 45_webhook_deliveries.sql). `version` follows
-- every event of the stream, delivery attempts included, so a command can load the
-- webhook's state from this row instead of replaying a long stream of attempts.
drop table if exists webhooks cascade;

create table webhooks (
  id           text primary key,
  url          text not null,
  events       text[] not null,
  secret       text not null,
  description  text,
  enabled      boolean not null,
  max_attempts integer not null,
  created_by   jsonb,
  created_at   timestamptz not null,
  updated_at   timestamptz not null,
  version      integer not null
);

create or replace function project_webhooks(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
begin
  if e.stream_type <> 'webhook' then return; end if;
  case e.type
    when 'webhook.created' then
      insert into webhooks (id, url, events, secret, description, enabled, max_attempts, created_by, created_at, updated_at, version)
      values (d->>'id', d->>'url', array(select jsonb_array_elements_text(d->'events')), d->>'secret',
        d->>'description', coalesce((d->>'enabled')::boolean, true), (d->>'maxAttempts')::integer,
        e.metadata->'actor', e.recorded_at, e.recorded_at, e.version);
    when 'webhook.updated' then
      update webhooks set
        url = coalesce(d->>'url', url),
        events = case when d ? 'events' then array(select jsonb_array_elements_text(d->'events')) else events end,
        secret = coalesce(d->>'secret', secret),
        description = case when d ? 'description' then d->>'description' else description end,
        enabled = coalesce((d->>'enabled')::boolean, enabled),
        max_attempts = coalesce((d->>'maxAttempts')::integer, max_attempts),
        updated_at = e.recorded_at, version = e.version
      where id = d->>'id';
    when 'webhook.deleted' then
      delete from webhooks where id = d->>'id';
    else
      update webhooks set version = e.version where id = substr(e.stream_id, 9);
  end case;
end;
$$;
