-- Test messages sent through a channel (POST /api/channels/:type/test), one row each, on
-- the channel's own stream (`channel-<type>`). The test is sent by the worker, never by
-- the API: a channel whose API hangs cannot slow the API down.
drop table if exists channel_tests cascade;

create table channel_tests (
  id            text primary key,
  channel       text not null,
  target        text,
  status        text not null,   -- queued, sent, failed
  message_id    text,
  error         text,
  requested_by  jsonb not null,
  requested_at  timestamptz not null,
  finished_at   timestamptz
);
create index channel_tests_channel_idx on channel_tests (channel, requested_at desc);

create or replace function project_channel_tests(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
begin
  if e.stream_type <> 'channel' then return; end if;
  case e.type
    when 'channel.test_requested' then
      insert into channel_tests (id, channel, target, status, requested_by, requested_at)
      values (d->>'testId', d->>'channel', d->>'target', 'queued', e.metadata->'actor', e.recorded_at)
      on conflict do nothing;
    when 'channel.test_sent' then
      update channel_tests set status = 'sent', target = d->>'target', message_id = d->>'messageId', finished_at = e.recorded_at
      where id = d->>'testId';
    when 'channel.test_failed' then
      update channel_tests set status = 'failed', error = d->>'error', finished_at = e.recorded_at
      where id = d->>'testId';
    else null;
  end case;
end;
$$;

-- The test's job, added in the transaction of the request for it (live appends only, like
-- 56_notification_jobs.sql). One attempt: a test reports what happened now, it does not
-- retry into a success minutes later.
create or replace function schedule_channel_test_jobs(e events) returns void language plpgsql as $$
begin
  if e.stream_type = 'channel' and e.type = 'channel.test_requested' then
    perform enqueue_job('channel_test', jsonb_build_object('testId', e.data->>'testId', 'channel', e.data->>'channel'),
      p_job_key => 'channel-test:' || (e.data->>'testId'), p_max_attempts => 1);
  end if;
end;
$$;
