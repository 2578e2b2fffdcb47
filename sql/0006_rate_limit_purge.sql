-- Hits older than the longest window allowed (RATE_LIMIT_WINDOW_MS ≤ 1 hour) count for
-- nothing. rate_limit_hit drops a key's old hits on its next request; keys that go quiet
-- or are revoked are swept here, from the worker's heartbeat.
create index rate_limit_hits_time_idx on rate_limit_hits (hit_at);

create function purge_rate_limit_hits() returns integer language sql as $$
  with gone as (delete from rate_limit_hits where hit_at < now() - interval '1 hour' returning 1)
  select count(*)::integer from gone
$$;
