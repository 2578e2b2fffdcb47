-- Notification jobs, added in the transaction of the event that calls for them (like
-- 50_jobs.sql, called by the append trigger for live appends only: a rebuild schedules
-- nothing). It runs after the event's projections, so the read models include the event.
-- A statement of creates only applies the rule for request.created below set-based
-- (events_after_append, 00_dispatch.sql); keep the two alike.
--
--   routed to humans           -> notify_request (plans the destinations)      key notify:<req>
--     unless request.created says there is nothing to plan (`notify: false`: the rule names
--     no channel and the accepting server has no default destination)
--   notifications_planned      -> post_notification per destination            key notify:<req>:<dest>
--   decided/expired/cancelled  -> update_notification per posted message       key notify-update:<req>:<dest>
--   notified, request over     -> update_notification for that message (posted while it ended)
-- Email messages are not updated (a sent email cannot change; its links stop working).
create or replace function schedule_notification_jobs(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
  v_id text;
  x jsonb;
  m record;
begin
  if e.stream_type <> 'request' then return; end if;
  v_id := substr(e.stream_id, length('request-') + 1);
  -- Routed to humans, in either shape of the log: request.created carrying the policy
  -- outcome, or (older logs) the first request.policy_evaluated after it.
  if (e.type = 'request.created' and d#>>'{policy,decision}' = 'route_to_human' and d->'notify' is distinct from 'false'::jsonb)
     or (e.type = 'request.policy_evaluated' and d->>'decision' = 'route_to_human'
         and not exists (select 1 from events p where p.stream_id = e.stream_id and p.type = e.type and p.version < e.version)) then
    perform enqueue_job('notify_request', jsonb_build_object('requestId', v_id),
      p_job_key => 'notify:' || v_id, p_max_attempts => 10);
  elsif e.type = 'request.notifications_planned' then
    for x in select * from jsonb_array_elements(d->'destinations') loop
      perform enqueue_job('post_notification', jsonb_build_object('requestId', v_id, 'destination', x),
        p_job_key => 'notify:' || v_id || ':' || (x->>'key'), p_max_attempts => 10);
    end loop;
  elsif e.type in ('request.approved', 'request.denied', 'request.expired', 'request.cancelled') then
    for m in select destination_key from notification_messages
      where request_id = v_id and message_id is not null and status <> 'updated' and channel <> 'email' loop
      perform enqueue_job('update_notification', jsonb_build_object('requestId', v_id, 'key', m.destination_key),
        p_job_key => 'notify-update:' || v_id || ':' || m.destination_key, p_max_attempts => 10);
    end loop;
  elsif e.type = 'request.notified' and d#>>'{destination,channel}' <> 'email'
        and (select status from requests where id = v_id) <> 'pending' then
    perform enqueue_job('update_notification', jsonb_build_object('requestId', v_id, 'key', d#>>'{destination,key}'),
      p_job_key => 'notify-update:' || v_id || ':' || (d#>>'{destination,key}'), p_max_attempts => 10);
  end if;
end;
$$;
