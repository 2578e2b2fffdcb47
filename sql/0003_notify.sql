-- A wake-up signal for every server process after each appending transaction commits.
-- The payload is constant so Postgres folds repeats within one transaction into a single
-- notification; listeners re-read events by position and never trust the signal's content.
create function events_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('agentgate_events', '');
  return null;
end;
$$;

create trigger events_notify after insert on events
  for each statement execute function events_notify();
