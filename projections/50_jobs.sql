-- Jobs scheduled by events. Not a read model: the append trigger (events_after_append,
-- 00_dispatch.sql) calls schedule_jobs for live appends only (a rebuild replays
-- apply_event, never this), so every event adds its jobs exactly once, in the transaction
-- that appends it: no event without its jobs, no job without its event. It lives beside
-- the projections so that it can change in place. It runs after the event's projections,
-- so the read models it consults (webhooks, requests, policies) already include the event.

-- An event -> the public webhook events it announces, in delivery order (empty: none).
-- The one place this mapping is kept. A `request.created` carries the policy outcome and
-- any automatic decision, so it announces `request.created` and, when a policy decided at
-- once, `request.decided` right after it. Older writers appended the outcome as
-- `request.policy_evaluated` (once per request, at creation: it announced the request) and
-- the automatic decision as `request.approved`/`request.denied`.
drop function if exists webhook_event_name(text); -- replaced by webhook_event_names(events)
create or replace function webhook_event_names(e events) returns text[] language sql immutable as $$
  select case
    when e.type = 'request.created' and e.data ? 'policy' then
      case when jsonb_typeof(e.data->'autoDecision') = 'object'
        then array['request.created', 'request.decided'] else array['request.created'] end
    when e.type = 'request.policy_evaluated' then array['request.created']
    when e.type in ('request.approved', 'request.denied') then array['request.decided']
    when e.type = 'request.expired' then array['request.expired']
    when e.type = 'request.cancelled' then array['request.cancelled']
    when e.type like 'policy.%' then array['policy.changed']
    else array[]::text[]
  end
$$;

-- Columns a request row has before it is decided: a `request.created` announced together
-- with its automatic decision shows the request as receivers saw it before (pending, with
-- the policy outcome), the decision following as `request.decided`.
create or replace function undecided_request_row(r jsonb) returns jsonb language sql immutable as $$
  select r || '{"status": "pending", "decided_at": null, "decided_by": null, "decider": null,
                "decided_by_label": null, "decision_reason": null, "decision_channel": null}'::jsonb
$$;

-- A prefixed, time-sortable id in the format of server/src/ids.ts (prefix_ + 26 Crockford
-- base32 characters: 48 bits of milliseconds, 80 random bits).
create or replace function new_prefixed_id(prefix text) returns text language plpgsql volatile as $$
declare
  alphabet constant text := '0123456789abcdefghjkmnpqrstvwxyz';
  ms bigint := floor(extract(epoch from clock_timestamp()) * 1000);
  u bytea := uuid_send(gen_random_uuid());
  -- the bytes of a v4 UUID that carry no version or variant bits
  rnd bytea := substring(u from 1 for 6) || substring(u from 11 for 6);
  result text := prefix || '_';
  v integer;
begin
  for i in reverse 9..0 loop
    result := result || substr(alphabet, ((ms >> (5 * i)) & 31)::integer + 1, 1);
  end loop;
  for i in 0..15 loop
    v := 0;
    for b in 0..4 loop
      v := (v << 1) | get_bit(rnd, i * 5 + b);
    end loop;
    result := result || substr(alphabet, v + 1, 1);
  end loop;
  return result;
end;
$$;

-- Adds a graphile-worker job in the caller's transaction (or parks it in job_outbox when
-- the worker's schema is not installed yet). For every room that schedules work from events.
create or replace function enqueue_job(p_identifier text, p_payload jsonb, p_queue_name text default null,
  p_run_at timestamptz default null, p_job_key text default null, p_max_attempts integer default null)
returns void language plpgsql as $$
begin
  if to_regnamespace('graphile_worker') is null then
    insert into job_outbox (identifier, payload, queue_name, run_at, job_key, max_attempts)
    values (p_identifier, p_payload, p_queue_name, p_run_at, p_job_key, p_max_attempts)
    on conflict (job_key) do update set identifier = excluded.identifier, payload = excluded.payload,
      queue_name = excluded.queue_name, run_at = excluded.run_at, max_attempts = excluded.max_attempts;
  else
    perform graphile_worker.add_job(p_identifier, p_payload::json, queue_name => p_queue_name, run_at => p_run_at,
      max_attempts => p_max_attempts, job_key => p_job_key);
  end if;
end;
$$;

-- Removes a keyed job that is no longer wanted (a running one is left to finish).
create or replace function cancel_job(p_job_key text) returns void language plpgsql as $$
begin
  if to_regnamespace('graphile_worker') is null then
    delete from job_outbox where job_key = p_job_key;
  else
    perform graphile_worker.remove_job(p_job_key);
  end if;
end;
$$;

-- Moves parked jobs into graphile_worker, in the order they were scheduled.
create or replace function drain_job_outbox() returns integer language plpgsql as $$
declare
  j job_outbox;
  n integer := 0;
begin
  if to_regnamespace('graphile_worker') is null then return 0; end if;
  for j in select * from job_outbox order by id for update skip locked loop
    perform graphile_worker.add_job(j.identifier, j.payload::json, queue_name => j.queue_name, run_at => j.run_at,
      max_attempts => j.max_attempts, job_key => j.job_key);
    delete from job_outbox where id = j.id;
    n := n + 1;
  end loop;
  return n;
end;
$$;

-- One line of deliveries per webhook (webhook_outbox, sql/0030): the job `deliver_webhook`
-- keyed `webhook:<id>` runs when the head of the line is due, and sends due heads back to
-- back. Every change to the line calls this, so a line with rows always has its job; a
-- later delivery never wakes the line before its head's retry is due.
-- Every waker of one line takes the line's lock before it reads the head, and holds it
-- until commit: the last one to set the job's run_at has then seen every change already
-- committed, and any change still uncommitted belongs to a transaction that wakes the line
-- after it. Without the lock, a decision appended while the worker records a failed attempt
-- could read the head as it was before the attempt and set the job due at once (graphile-
-- worker's add_job replaces run_at); the job then found the head not yet due and finished,
-- leaving the line with rows and no job.
create or replace function wake_webhook_line(p_webhook_id text) returns void language plpgsql as $$
declare
  v_due timestamptz;
begin
  perform pg_advisory_xact_lock(hashtextextended('webhook-line:' || p_webhook_id, 0));
  select due_at into v_due from webhook_outbox where webhook_id = p_webhook_id order by seq limit 1;
  if v_due is null then return; end if;
  perform enqueue_job('deliver_webhook', jsonb_build_object('webhookId', p_webhook_id),
    p_queue_name => 'webhook:' || p_webhook_id, p_run_at => v_due, p_job_key => 'webhook:' || p_webhook_id,
    p_max_attempts => 25);
end;
$$;

-- Puts a delivery (the payload of its first attempt) at the end of its webhook's line.
create or replace function queue_webhook_delivery(p_webhook_id text, p_payload jsonb) returns void language plpgsql as $$
begin
  insert into webhook_outbox (webhook_id, delivery_id, payload) values (p_webhook_id, p_payload->>'deliveryId', p_payload);
  perform wake_webhook_line(p_webhook_id);
end;
$$;

-- Request expiry: ONE sweep job (`expire_requests`, key and queue `expire-requests`), due at
-- the earliest expiry among pending requests, rather than a job per request. Adding a job
-- (graphile_worker.add_job) was the dearest part of a routed create; now a create with an
-- expiry usually only reads the sweep's due time (the next expiry is rarely earlier than
-- every pending one), and a decision has no job to remove. The sweep (requests/expiry.ts)
-- expires every request that is due, then schedules itself at the next pending expiry.
--
-- A create must never be missed by a sweep that is just rescheduling: the sweep cannot see a
-- request whose transaction has not committed. So a create holds the lock below SHARED from
-- before it reads the sweep's due time until it commits (creates never wait for each other),
-- and the sweep reschedules under it EXCLUSIVE, after every such create has committed.
-- Creates that move the sweep earlier do it one at a time (a second lock), each reading the
-- due time the previous one committed, so the earliest expiry always wins.
--
-- Whether the waiting sweep is due no later than p_at. A running sweep does not count: it
-- may already be past its last look at the pending requests. Volatile: a fresh snapshot.
-- The append trigger (00_dispatch.sql) writes the same test out for a batch of creates;
-- keep the two alike.
create or replace function expiry_sweep_due_by(p_at timestamptz) returns boolean language plpgsql as $$
begin
  if to_regnamespace('graphile_worker') is null then
    return exists (select 1 from job_outbox where job_key = 'expire-requests' and run_at <= p_at);
  end if;
  return exists (select 1 from graphile_worker.jobs where key = 'expire-requests'
    and locked_at is null and attempts < max_attempts and run_at <= p_at);
end;
$$;

-- A pending request expires at p_at: the sweep must run by then.
create or replace function schedule_expiry_sweep(p_at timestamptz) returns void language plpgsql as $$
begin
  perform pg_advisory_xact_lock_shared(hashtextextended('expire-requests', 0));
  if expiry_sweep_due_by(p_at) then return; end if;
  perform pg_advisory_xact_lock(hashtextextended('expire-requests:move', 0));
  if expiry_sweep_due_by(p_at) then return; end if;
  perform enqueue_job('expire_requests', '{}'::jsonb, p_queue_name => 'expire-requests', p_run_at => p_at,
    p_job_key => 'expire-requests', p_max_attempts => 25);
end;
$$;

-- After a sweep: the next one at the earliest expiry still pending (leaving out the requests
-- whose expiry just failed; p_retry_at, when some did, at the latest), or none when no pending
-- request has an expiry. Returns when it is due. Called by the running sweep, whose job then
-- completes; one added meanwhile by a create is the one moved.
create or replace function reschedule_expiry_sweep(p_skip text[], p_retry_at timestamptz, p_payload jsonb)
returns timestamptz language plpgsql as $$
declare
  v_next timestamptz;
begin
  perform pg_advisory_xact_lock(hashtextextended('expire-requests', 0));
  select min(expires_at) into v_next from requests
  where status = 'pending' and expires_at is not null and id <> all(p_skip);
  v_next := least(v_next, p_retry_at);
  if v_next is null then
    perform cancel_job('expire-requests');
  else
    perform enqueue_job('expire_requests', p_payload, p_queue_name => 'expire-requests', p_run_at => v_next,
      p_job_key => 'expire-requests', p_max_attempts => 25);
  end if;
  return v_next;
end;
$$;

-- At every start (jobs/schema.ts): a sweep is scheduled for the earliest pending expiry. The
-- creates and the sweeps keep it so; this puts back one that was lost (removed by hand, or
-- failed for good), and covers requests created before expiry was swept.
create or replace function ensure_expiry_sweep() returns void language plpgsql as $$
declare
  v_next timestamptz;
begin
  select min(expires_at) into v_next from requests where status = 'pending' and expires_at is not null;
  if v_next is not null then perform schedule_expiry_sweep(v_next); end if;
end;
$$;

create or replace function schedule_jobs(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
  v_id text;
  v_public text;
  v_subject jsonb;
  v_row jsonb;
  v_outcome text;
  w record;
begin
  case e.stream_type
    when 'request' then
      v_id := substr(e.stream_id, length('request-') + 1);
      -- Expiry: the sweep runs by this request's expiry (a request a policy decided at once
      -- never needs it). A decision changes nothing: the sweep finds the request decided.
      if e.type = 'request.created' and d->>'expiresAt' is not null and jsonb_typeof(d->'autoDecision') is distinct from 'object' then
        perform schedule_expiry_sweep((d->>'expiresAt')::timestamptz);
      end if;
    when 'policy' then
      v_id := substr(e.stream_id, length('policy-') + 1);
    when 'webhook' then
      v_id := substr(e.stream_id, length('webhook-') + 1);
      if e.type = 'webhook.delivery_attempted' then
        -- The attempt moves the line: a failed attempt with a retry keeps its place at the
        -- head until the retry is due; a success or a final failure leaves the line.
        if d->>'nextAttemptAt' is not null then
          update webhook_outbox set attempt = (d->>'attempt')::integer + 1, due_at = (d->>'nextAttemptAt')::timestamptz
          where delivery_id = d->>'deliveryId';
        else
          delete from webhook_outbox where delivery_id = d->>'deliveryId';
        end if;
        perform wake_webhook_line(v_id);
      elsif e.type = 'webhook.redelivery_requested' then
        perform queue_webhook_delivery(v_id,
          jsonb_build_object('webhookId', v_id, 'deliveryId', d->>'deliveryId', 'attempt', 1,
            'event', d->>'event', 'position', d->'eventPosition', 'redeliveryOf', d->>'of'));
      elsif e.type = 'webhook.deleted' then
        delete from webhook_outbox where webhook_id = v_id;
      end if;
      return;
    else
      return;
  end case;

  -- One delivery per subscribed webhook and public event, carrying the subject as it
  -- stands after the event. Webhooks are read only when the event announces something.
  foreach v_public in array webhook_event_names(e) loop
    -- request.approved / request.denied (the names the original project delivered) subscribe
    -- to request.decided for that outcome only, and are delivered under that name.
    v_outcome := case when v_public <> 'request.decided' then null
                      when e.type = 'request.created' then 'request.' || (d#>>'{autoDecision,status}')
                      else e.type end;
    for w in select id, not (events && array[v_public, '*']) as by_outcome from webhooks
      where enabled and events && (array[v_public, '*'] || case when v_outcome is not null then array[v_outcome] else array[]::text[] end)
      order by id loop
      if v_row is null then
        v_row := case e.stream_type
          when 'request' then (select to_jsonb(r) from requests r where r.id = v_id)
          else (select to_jsonb(p) from policies p where p.id = v_id)
        end;
      end if;
      v_subject := jsonb_build_object('type', e.stream_type, 'eventType', e.type, 'id', v_id, 'row',
        case when e.type = 'request.created' and v_public = 'request.created' then undecided_request_row(v_row) else v_row end);
      perform queue_webhook_delivery(w.id,
        jsonb_build_object('webhookId', w.id, 'deliveryId', new_prefixed_id('dlv'), 'attempt', 1,
          'event', case when w.by_outcome then v_outcome else v_public end,
          'position', e.position, 'timestamp', to_char(e.recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'subject', v_subject));
    end loop;
  end loop;
end;
$$;
