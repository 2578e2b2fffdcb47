-- Per-key sliding-window rate limiting, shared by every server process.
-- Operational state, not domain state: it is not an event and is not rebuilt.
create table rate_limit_hits (
  key_id text not null,
  hit_at timestamptz not null
);
create index rate_limit_hits_key_time_idx on rate_limit_hits (key_id, hit_at);

-- Records one hit for key_id if fewer than max_hits fall in the window ending now.
-- A transaction-scoped advisory lock per key makes count-then-insert atomic across processes.
create function rate_limit_hit(p_key_id text, p_max integer, p_window_ms integer)
returns table (allowed boolean, remaining integer, reset_ms integer)
language plpgsql as $$
declare
  v_now timestamptz := clock_timestamp();
  v_since timestamptz := v_now - make_interval(secs => p_window_ms / 1000.0);
  v_count integer;
  v_oldest timestamptz;
begin
  perform pg_advisory_xact_lock(hashtextextended('rate_limit:' || p_key_id, 0));
  delete from rate_limit_hits where key_id = p_key_id and hit_at <= v_since;
  select count(*), min(hit_at) into v_count, v_oldest from rate_limit_hits where key_id = p_key_id;
  if v_count < p_max then
    insert into rate_limit_hits (key_id, hit_at) values (p_key_id, v_now);
    v_count := v_count + 1;
    v_oldest := coalesce(v_oldest, v_now);
    allowed := true;
  else
    allowed := false;
  end if;
  remaining := greatest(p_max - v_count, 0);
  reset_ms := greatest(ceil(extract(epoch from (v_oldest + make_interval(secs => p_window_ms / 1000.0) - v_now)) * 1000)::integer, 0);
  return next;
end;
$$;
