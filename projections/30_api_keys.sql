-- API keys: only the SHA-256 of a key is ever stored.
drop table if exists api_keys cascade;

create table api_keys (
  id          text primary key,
  name        text not null,
  key_hash    text not null unique,
  key_prefix  text not null,
  scopes      text[] not null,
  rate_limit  integer,
  created_by  jsonb,
  created_at  timestamptz not null,
  updated_at  timestamptz not null,
  revoked_at  timestamptz,
  version     integer not null
);

create or replace function project_api_keys(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
begin
  if e.stream_type <> 'apikey' then return; end if;
  case e.type
    when 'apikey.created' then
      insert into api_keys (id, name, key_hash, key_prefix, scopes, rate_limit, created_by, created_at, updated_at, version)
      values (d->>'id', d->>'name', d->>'keyHash', d->>'keyPrefix',
        array(select jsonb_array_elements_text(d->'scopes')), (d->>'rateLimit')::integer,
        e.metadata->'actor', e.recorded_at, e.recorded_at, e.version);
    when 'apikey.updated' then
      update api_keys set
        name = coalesce(d->>'name', name),
        scopes = case when d ? 'scopes' then array(select jsonb_array_elements_text(d->'scopes')) else scopes end,
        rate_limit = case when d ? 'rateLimit' then (d->>'rateLimit')::integer else rate_limit end,
        updated_at = e.recorded_at, version = e.version
      where id = d->>'id';
    when 'apikey.revoked' then
      update api_keys set revoked_at = e.recorded_at, updated_at = e.recorded_at, version = e.version
      where id = d->>'id';
    else null;
  end case;
end;
$$;
