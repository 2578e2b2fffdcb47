-- Every projection's apply function runs for each appended event, inside the append
-- transaction (so a read right after a 2xx sees the write), and again, in log order,
-- when the projections are rebuilt (so live and rebuilt rows cannot drift).
-- The per-projection functions are defined in the files that follow; plpgsql resolves
-- them at call time.
create or replace function apply_event(e events) returns void language plpgsql as $$
begin
  perform project_requests(e);
  perform project_decision_links(e);
  perform project_policies(e);
  perform project_overrides(e);
  perform project_reviewers(e);
  perform project_reviewer_sign_in_links(e);
  perform project_notifications(e);
  perform project_channel_tests(e);
  perform project_api_keys(e);
  perform project_webhooks(e);
  perform project_webhook_deliveries(e);
  perform project_audit_log(e);
end;
$$;

create or replace function events_apply_projections() returns trigger language plpgsql as $$
begin
  perform apply_event(new);
  return null;
end;
$$;

drop trigger if exists events_project on events;
create trigger events_project after insert on events
  for each row execute function events_apply_projections();
