-- Resolves an API key by its hash and, only when the key is live and limited, counts the
-- hit against its rate limit: one round trip per authenticated request. (A lateral join
-- evaluated rate_limit_hit even for unlimited keys, taking a lock for nothing.)
create function authenticate_key(p_key_hash text, p_window_ms integer)
returns table (id text, name text, scopes text[], rate_limit integer, revoked_at timestamptz,
               allowed boolean, remaining integer, reset_ms integer)
language plpgsql as $$
declare
  k record;
begin
  select a.id, a.name, a.scopes, a.rate_limit, a.revoked_at into k from api_keys a where a.key_hash = p_key_hash;
  if not found then return; end if;
  id := k.id; name := k.name; scopes := k.scopes; rate_limit := k.rate_limit; revoked_at := k.revoked_at;
  if k.rate_limit is not null and k.revoked_at is null then
    select r.allowed, r.remaining, r.reset_ms into allowed, remaining, reset_ms
    from rate_limit_hit(k.id, k.rate_limit, p_window_ms) r;
  end if;
  return next;
end;
$$;
