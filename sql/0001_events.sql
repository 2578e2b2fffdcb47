-- The event log: the only source of truth. Every other table is a projection of it.
create table events (
  position    bigint generated always as identity primary key,
  -- Transaction id of the append, used by position readers to avoid skipping rows
  -- that commit out of position order (see docs/architecture.md, "Reading without gaps").
  tx_id       xid8 not null default pg_current_xact_id(),
  stream_id   text not null,
  stream_type text not null,
  version     integer not null check (version > 0),
  type        text not null,
  data        jsonb not null default '{}'::jsonb,
  metadata    jsonb not null default '{}'::jsonb,
  -- Millisecond precision: the API speaks ISO-8601 with milliseconds, so times round-trip exactly.
  recorded_at timestamptz not null default date_trunc('milliseconds', now()),
  constraint events_stream_version_unique unique (stream_id, version)
);

create index events_tx_position_idx on events (tx_id, position);
create index events_type_position_idx on events (type, position);
create index events_stream_type_position_idx on events (stream_type, position);
create index events_recorded_at_idx on events (recorded_at);

-- Append-only, enforced by the database: no UPDATE, DELETE or TRUNCATE, whoever asks.
create function events_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'events is append-only: % refused', tg_op
    using errcode = 'insufficient_privilege', hint = 'append a new event instead';
end;
$$;

create trigger events_no_update_delete before update or delete on events
  for each row execute function events_refuse_change();
create trigger events_no_truncate before truncate on events
  for each statement execute function events_refuse_change();

-- Privileges too, for every role that is not a superuser (the owner included:
-- an owner may revoke its own rights, and the app should not run as a superuser).
revoke update, delete, truncate on events from public;
do $$ begin
  execute format('revoke update, delete, truncate on events from %I', current_user);
end $$;
