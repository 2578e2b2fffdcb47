-- Current policies (deleted ones disappear; their history stays in events).
drop table if exists policy_set cascade;
drop table if exists policies cascade;

create table policies (
  id          text primary key,
  name        text not null,
  description text,
  priority    integer not null,
  enabled     boolean not null,
  rules       jsonb not null,
  version     integer not null,
  created_by  jsonb,
  created_at  timestamptz not null,
  updated_at  timestamptz not null
);
create unique index policies_name_idx on policies (name);
create index policies_priority_idx on policies (priority, id);

-- A counter of changes to the set of policies: one row, bumped by every policy event.
-- Each server process evaluates requests with a compiled copy of the set in memory
-- (server/src/policies/policy-set.ts) and appends a create only while this counter still
-- equals the one its copy was loaded at, so a change made through any process is in
-- force for the next create everywhere.
create table policy_set (
  singleton boolean primary key default true check (singleton),
  version   bigint not null
);
insert into policy_set (version) values (0);

create or replace function project_policies(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
begin
  if e.stream_type <> 'policy' then return; end if;
  update policy_set set version = version + 1;
  case e.type
    when 'policy.created' then
      insert into policies (id, name, description, priority, enabled, rules, version, created_by, created_at, updated_at)
      values (d->>'id', d->>'name', d->>'description', (d->>'priority')::integer, (d->>'enabled')::boolean,
        d->'rules', e.version, e.metadata->'actor', e.recorded_at, e.recorded_at);
    when 'policy.updated' then
      update policies set
        name = coalesce(d->>'name', name),
        description = case when d ? 'description' then d->>'description' else description end,
        priority = coalesce((d->>'priority')::integer, priority),
        enabled = coalesce((d->>'enabled')::boolean, enabled),
        rules = coalesce(d->'rules', rules),
        version = e.version, updated_at = e.recorded_at
      where id = d->>'id';
    when 'policy.deleted' then
      delete from policies where id = d->>'id';
    else null;
  end case;
end;
$$;
