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

create or replace function events_apply_projections() returns trigger language plpgsql as $$
begin
  perform apply_event(new);
  return null;
end;
$$;

-- The trigger runs as the owner of the projections (SECURITY DEFINER): the application's
-- role may append events but not write a read model (sql/0020_app_role.sql). Its
-- search_path is pinned to this schema with pg_temp last, so a temporary table of the
-- appending session cannot stand in for a read table.
do $$ begin
  execute format('alter function events_apply_projections() security definer set search_path = %I, pg_temp', current_schema());
end $$;

drop trigger if exists events_project on events;
create trigger events_project after insert on events
  for each row execute function events_apply_projections();
