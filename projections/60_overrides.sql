-- Overrides in force or waiting to expire (removed ones disappear; their history stays in
-- events). Expiry is by time: readers compare expires_at with the clock, nothing is
-- appended when an override runs out.
drop table if exists overrides cascade;

create table overrides (
  id           text primary key,
  action       text not null,
  agent_key_id text,
  decision     text not null,
  reason       text not null,
  expires_at   timestamptz,
  created_by   jsonb,
  created_at   timestamptz not null
);

create or replace function project_overrides(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
begin
  if e.stream_type <> 'override' then return; end if;
  -- Overrides are evaluated with the policies: a change is a change of the policy set
  -- (policy_set, 20_policies.sql), so no process appends a create with a stale copy.
  update policy_set set version = version + 1;
  case e.type
    when 'override.created' then
      insert into overrides (id, action, agent_key_id, decision, reason, expires_at, created_by, created_at)
      values (d->>'id', d->>'action', d->>'agentKeyId', d->>'decision', d->>'reason', (d->>'expiresAt')::timestamptz,
        e.metadata->'actor', e.recorded_at);
    when 'override.removed' then
      delete from overrides where id = d->>'id';
    else null;
  end case;
end;
$$;
