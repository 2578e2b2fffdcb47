-- The application's own role. The server, the workers and every live reader connect as
-- a role (DATABASE_URL) that is neither the owner of these tables nor a superuser, so the
-- log stays append-only against the application itself: it can read everything, append
-- to `events`, and write only the operational state it keeps outside the log. Migrations
-- and projection rebuilds run as the owner (MIGRATION_DATABASE_URL), which records the
-- application's role here and grants it exactly what grant_app_privileges() lists.
-- Read models are written by the events' triggers, which run as the owner (SECURITY
-- DEFINER, projections/00_dispatch.sql and 50_jobs.sql), never by the role itself.
create table app_roles (
  role_name name primary key,
  added_at timestamptz not null default now()
);

-- (Re)grants every recorded application role its privileges, and only those: whatever it
-- held on this schema's tables before is revoked first. Called after migrations, after
-- every projection rebuild (which recreates the read tables, dropping their grants) and
-- after graphile-worker's schema is installed or upgraded.
create function grant_app_privileges() returns void language plpgsql as $$
declare
  r name;
  t name;
  s name := current_schema();
begin
  for r in select a.role_name from app_roles a join pg_roles p on p.rolname = a.role_name order by 1 loop
    execute format('revoke all on all tables in schema %I from %I', s, r);
    execute format('revoke all on all sequences in schema %I from %I', s, r);
    execute format('grant usage on schema %I to %I', s, r);
    -- Read everything: the log, the read models, the operational state.
    execute format('grant select on all tables in schema %I to %I', s, r);
    -- The log: append only. UPDATE, DELETE and TRUNCATE are never granted.
    execute format('grant insert on events to %I', r);
    -- Operational state the application keeps itself (not events, not rebuilt).
    execute format('grant insert, delete on rate_limit_hits to %I', r);
    execute format('grant insert, update on dashboard_sessions to %I', r);
    execute format('grant insert on server_secrets to %I', r);
    execute format('grant insert, update on api_key_usage to %I', r);
    execute format('grant insert, update, delete on worker_heartbeats to %I', r);
    execute format('grant insert, update, delete on job_outbox to %I', r);
    execute format('grant delete on webhook_outbox to %I', r);
    -- graphile-worker's queue, at run time (its migrations run as the owner).
    if to_regnamespace('graphile_worker') is not null then
      execute format('grant usage on schema graphile_worker to %I', r);
      execute format('grant select, insert, update, delete on all tables in schema graphile_worker to %I', r);
      execute format('grant usage, select on all sequences in schema graphile_worker to %I', r);
      execute format('grant execute on all functions in schema graphile_worker to %I', r);
      -- Its private tables have row-level security without policies (only their owner sees
      -- rows): a policy per table lets the worker, running as this role, see and take jobs.
      for t in select c.relname from pg_class c
               where c.relnamespace = 'graphile_worker'::regnamespace and c.relkind = 'r' and c.relrowsecurity loop
        if not exists (select 1 from pg_policies p where p.schemaname = 'graphile_worker' and p.tablename = t and p.policyname = 'app_role_' || r) then
          execute format('create policy %I on graphile_worker.%I to %I using (true) with check (true)', 'app_role_' || r, t, r);
        end if;
      end loop;
    end if;
  end loop;
end;
$$;
revoke execute on function grant_app_privileges() from public;
