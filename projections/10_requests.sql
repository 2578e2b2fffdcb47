-- Current state of every approval request.
drop table if exists idempotency_keys cascade;
drop table if exists requests cascade;

create table requests (
  id                 text primary key,
  action             text not null,
  params             jsonb not null,
  context            jsonb not null,
  status             text not null,
  urgency            text not null,
  urgency_rank       smallint not null,
  requester_key_id   text,
  requester_name     text,
  policy_decision    jsonb,
  decided_at         timestamptz,
  decided_by         text,
  decider            jsonb,
  decided_by_label   text,
  decision_reason    text,
  decision_channel   text,
  -- A policy decided in the request.created itself: that event is two audit entries
  -- (projections/90_audit_log.sql), so an audit total can be summed from this table.
  created_with_decision boolean not null default false,
  expires_at         timestamptz,
  created_at         timestamptz not null,
  updated_at         timestamptz not null,
  version            integer not null,
  last_position      bigint not null
);
create index requests_created_idx on requests (created_at desc, id desc);
create index requests_status_created_idx on requests (status, created_at desc, id desc);
create index requests_urgency_idx on requests (urgency_rank desc, created_at desc, id desc);
-- The reviewers' queue: pending only, most urgent first, then the longest waiting.
create index requests_pending_queue_idx on requests (urgency_rank desc, created_at, id) where status = 'pending';
-- The expiry sweep: pending requests that are due, and the next expiry (50_jobs.sql).
create index requests_pending_expiry_idx on requests (expires_at) where status = 'pending' and expires_at is not null;
-- The requests list pages newest first by keyset under any of its filters: an index for
-- each equality filter, ordered like the page, so a page reads about a page of rows (the
-- planner adds the other filters to the walk, or intersects bitmaps for rare combinations).
-- An urgency filter is its rank (one urgency, one rank): requests_urgency_idx serves it, newest
-- first, and a create writes one index entry less. Checked at 100,000 requests by
-- test/integration/requests-paging-plans.test.ts.
create index requests_action_created_idx on requests (action, created_at desc, id desc);

-- Same requester + same Idempotency-Key => same request.
create table idempotency_keys (
  requester_key_id text not null,
  idempotency_key  text not null,
  request_id       text not null,
  body_hash        text not null,
  created_at       timestamptz not null,
  primary key (requester_key_id, idempotency_key)
);

create or replace function urgency_rank(u text) returns smallint language sql immutable as $$
  select case u when 'low' then 0 when 'normal' then 1 when 'high' then 2 when 'critical' then 3 else 1 end::smallint
$$;

-- The row a request.created makes: the one definition, for one event (project_requests:
-- a rebuild, a mixed append) and for a statement of creates (events_after_append,
-- 00_dispatch.sql), so live and rebuilt rows cannot drift. A SQL function returning a set,
-- so a query calling it in FROM has it inlined.
create or replace function request_created_rows(e events) returns setof requests language sql stable as $$
  select e.data->>'id', e.data->>'action', e.data->'params', e.data->'context',
    coalesce(x.auto->>'status', 'pending'), e.data->>'urgency', urgency_rank(e.data->>'urgency'),
    e.data#>>'{requester,id}', e.data#>>'{requester,name}', e.data->'policy',
    case when x.auto is not null then e.recorded_at end, x.auto#>>'{decider,name}', x.auto->'decider', null::text,
    x.auto->>'reason', case when x.auto is not null then e.metadata->>'channel' end, x.auto is not null,
    (e.data->>'expiresAt')::timestamptz, e.recorded_at, e.recorded_at, e.version, e.position
  from (select case when jsonb_typeof(e.data->'autoDecision') = 'object' then e.data->'autoDecision' end as auto) x
$$;

create or replace function project_requests(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
begin
  if e.stream_type <> 'request' then return; end if;
  case e.type
    when 'request.created' then
      -- One row, written once: the policy outcome and any automatic decision come in the
      -- same event (older logs: null here, then request.policy_evaluated and a decision event).
      insert into requests select * from request_created_rows(e);
      if d ? 'idempotency' and jsonb_typeof(d->'idempotency') = 'object' then
        insert into idempotency_keys (requester_key_id, idempotency_key, request_id, body_hash, created_at)
        values (d#>>'{requester,id}', d#>>'{idempotency,key}', d->>'id', d#>>'{idempotency,bodyHash}', e.recorded_at);
      end if;
    when 'request.policy_evaluated' then -- older logs only
      update requests set policy_decision = d, updated_at = e.recorded_at,
        version = e.version, last_position = e.position
      where id = substr(e.stream_id, 9);
    when 'request.approved', 'request.denied' then
      update requests set
        status = case e.type when 'request.approved' then 'approved' else 'denied' end,
        decided_at = e.recorded_at,
        decided_by = d#>>'{decider,name}',
        decider = d->'decider',
        decided_by_label = d->>'label',
        decision_reason = d->>'reason',
        decision_channel = e.metadata->>'channel',
        updated_at = e.recorded_at, version = e.version, last_position = e.position
      where id = substr(e.stream_id, 9);
    when 'request.expired' then
      update requests set status = 'expired', decided_at = e.recorded_at, decided_by = 'system',
        decider = jsonb_build_object('type', 'system', 'id', 'expiry', 'name', 'system'),
        decision_reason = d->>'reason',
        updated_at = e.recorded_at, version = e.version, last_position = e.position
      where id = substr(e.stream_id, 9);
    when 'request.cancelled' then
      update requests set status = 'cancelled', decided_at = e.recorded_at,
        decided_by = d#>>'{cancelledBy,name}', decider = d->'cancelledBy',
        decision_reason = d->>'reason',
        updated_at = e.recorded_at, version = e.version, last_position = e.position
      where id = substr(e.stream_id, 9);
    else
      update requests set updated_at = e.recorded_at, version = e.version, last_position = e.position
      where id = substr(e.stream_id, 9);
  end case;
end;
$$;
