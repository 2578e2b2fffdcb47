-- Each appended event goes to the projections of its stream type, inside the append
-- transaction (so a read right after a 2xx sees the write), and again, in log order,
-- when the projections are rebuilt (so live and rebuilt rows cannot drift).
-- A projection is listed under every stream type whose events it reads (its function
-- returns at once for any other): a create calls 4 functions, not all of them. A new
-- projection goes under its stream types here; a new stream type gets its own branch.
-- The per-projection functions are defined in the files that follow; plpgsql resolves
-- them at call time.
create or replace function apply_event(e events) returns void language plpgsql as $$
begin
  case e.stream_type
    when 'request' then
      perform project_requests(e);
      perform project_decision_links(e);
      perform project_notifications(e);
    when 'policy' then
      perform project_policies(e);
    when 'override' then
      perform project_overrides(e);
    when 'reviewer' then
      perform project_reviewers(e);
      perform project_reviewer_sign_in_links(e);
    when 'apikey' then
      perform project_api_keys(e);
    when 'webhook' then
      perform project_webhooks(e);
      perform project_webhook_deliveries(e);
    when 'channel' then
      perform project_channel_tests(e);
    else
      null;
  end case;
  -- The audit log needs no call: it is a view over events (90_audit_log.sql).
end;
$$;

-- What an append does after its rows are in: project each event, then add the jobs it
-- calls for (50_jobs.sql, 56_notification_jobs.sql, 57_channel_tests.sql: live appends
-- only, a rebuild replays apply_event alone). One trigger per statement, not one per row
-- and room: a create's row paid for three trigger calls, each switching to the owner's
-- search_path and back, and for expressions each function compiled again in every
-- transaction; a batch of creates (requests/group-commit.ts) now pays once.
--
-- A statement of request creates only (the hot path) is projected set-based:
-- request_created_rows (10_requests.sql) is the one definition of a created request's
-- row, shared with project_requests, so live and rebuilt rows cannot drift. Any other
-- statement replays its rows in log order through the same functions the row triggers
-- called, in the order they fired (per row: projections, then jobs by trigger name), so a
-- statement holding several events of one stream sees each applied before the next.
create or replace function events_after_append() returns trigger language plpgsql as $$
declare
  e events;
  v_expiry timestamptz;
begin
  if not exists (select 1 from appended a where a.type <> 'request.created' or a.stream_type <> 'request') then
    insert into requests select r.* from appended a cross join lateral request_created_rows(a::events) r order by a.position;
    insert into idempotency_keys (requester_key_id, idempotency_key, request_id, body_hash, created_at)
    select a.data#>>'{requester,id}', a.data#>>'{idempotency,key}', a.data->>'id', a.data#>>'{idempotency,bodyHash}', a.recorded_at
    from appended a where jsonb_typeof(a.data->'idempotency') = 'object' order by a.position;
    -- Webhooks: only when one is subscribed to what a create announces (it may announce
    -- request.decided too, under the outcome's name for some subscribers); then each event
    -- goes through schedule_jobs, as before, its expiry included.
    if exists (select 1 from webhooks w where w.enabled
               and w.events && array['*', 'request.created', 'request.decided', 'request.approved', 'request.denied']) then
      for e in select * from appended a order by a.position loop
        perform schedule_jobs(e);
      end loop;
    else
      -- Expiry: the sweep must run by the earliest expiry among the requests left pending
      -- (schedule_jobs' rule, taken once for the batch: its minimum covers every other).
      select min((a.data->>'expiresAt')::timestamptz) into v_expiry from appended a
      where a.data->>'expiresAt' is not null and jsonb_typeof(a.data->'autoDecision') is distinct from 'object';
      if v_expiry is not null then
        -- schedule_expiry_sweep's first step, written out: nearly always the sweep is already
        -- due by then, and two nested plpgsql calls cost a batch more than the check itself.
        -- Same lock, held to commit, and the same test (expiry_sweep_due_by) on the same
        -- fresh snapshot; when it fails, schedule_expiry_sweep does the whole protocol.
        perform pg_advisory_xact_lock_shared(hashtextextended('expire-requests', 0));
        if to_regnamespace('graphile_worker') is null then
          perform schedule_expiry_sweep(v_expiry);
        elsif not exists (select 1 from graphile_worker.jobs j where j.key = 'expire-requests'
                          and j.locked_at is null and j.attempts < j.max_attempts and j.run_at <= v_expiry) then
          perform schedule_expiry_sweep(v_expiry);
        end if;
      end if;
    end if;
    -- Routed to people: the notification job (schedule_notification_jobs' rule for a create).
    perform enqueue_job('notify_request', jsonb_build_object('requestId', substr(a.stream_id, 9)),
      p_job_key => 'notify:' || substr(a.stream_id, 9), p_max_attempts => 10)
    from appended a
    where a.data#>>'{policy,decision}' = 'route_to_human' and a.data->'notify' is distinct from 'false'::jsonb
    order by a.position;
    return null;
  end if;
  for e in select * from appended a order by a.position loop
    perform apply_event(e);
    if e.stream_type = 'channel' then perform schedule_channel_test_jobs(e); end if;
    if e.stream_type in ('request', 'policy', 'webhook') then perform schedule_jobs(e); end if;
    if e.stream_type = 'request' then perform schedule_notification_jobs(e); end if;
  end loop;
  return null;
end;
$$;

-- The trigger runs as the owner of the projections (SECURITY DEFINER): the application's
-- role may append events but not write a read model or add a job (sql/0020_app_role.sql).
-- Its search_path is pinned to this schema with pg_temp last, so a temporary table of the
-- appending session cannot stand in for a read table.
do $$ begin
  execute format('alter function events_after_append() security definer set search_path = %I, pg_temp', current_schema());
end $$;

-- The row triggers it replaces.
drop trigger if exists events_project on events;
drop trigger if exists events_schedule_jobs on events;
drop trigger if exists events_schedule_notification_jobs on events;
drop trigger if exists events_schedule_channel_test_jobs on events;
drop function if exists events_apply_projections();
drop function if exists events_schedule_jobs();
drop function if exists events_schedule_notification_jobs();
drop function if exists events_schedule_channel_test_jobs();
drop trigger if exists events_after_append on events;
create trigger events_after_append after insert on events
  referencing new table as appended
  for each statement execute function events_after_append();
