-- Support for background jobs (graphile-worker). Operational state, not rebuilt from events.

-- Jobs that events scheduled while the graphile_worker schema was not installed yet
-- (a database migrated by a process that never installed the worker's schema). A server
-- or worker moves them into graphile_worker when it installs it, so a job is never lost.
create table job_outbox (
  id           bigint generated always as identity primary key,
  identifier   text not null,
  payload      jsonb not null,
  queue_name   text,
  run_at       timestamptz,
  job_key      text unique,
  max_attempts integer
);

-- One row per running worker pool, refreshed every few seconds. A pool that stops
-- beating (its process was killed) is presumed dead and the jobs it had locked are
-- released for the others; graphile-worker alone would keep them locked for 4 hours.
create table worker_heartbeats (
  pool_id    text primary key,
  hostname   text not null,
  pid        integer not null,
  started_at timestamptz not null default now(),
  beat_at    timestamptz not null default now()
);
