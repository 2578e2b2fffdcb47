-- Counts one hit against a key already authenticated (a WebSocket `subscribe`, which starts
-- a replay or a live feed without a new HTTP request), against the same per-key counter as
-- HTTP calls. The key's current limit is read here, so a limit changed after the socket
-- opened applies at once. Unlimited keys take no lock and write nothing.
create function rate_limit_key_hit(p_key_id text, p_window_ms integer)
returns table (rate_limit integer, revoked boolean, allowed boolean, remaining integer, reset_ms integer)
language plpgsql as $$
declare
  k record;
begin
  select a.rate_limit, a.revoked_at into k from api_keys a where a.id = p_key_id;
  if not found then
    revoked := true;
    return next;
    return;
  end if;
  rate_limit := k.rate_limit;
  revoked := k.revoked_at is not null;
  allowed := true;
  if k.rate_limit is not null and k.revoked_at is null then
    select r.allowed, r.remaining, r.reset_ms into allowed, remaining, reset_ms
    from rate_limit_hit(p_key_id, k.rate_limit, p_window_ms) r;
  end if;
  return next;
end;
$$;
