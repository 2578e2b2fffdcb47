-- One place that reads a key and counts a hit against its rate limit. authenticate_key
-- (0005, a bearer key by its hash) and authenticate_session (0040, the key behind a
-- dashboard session) each carried their own copy of this body; both now call it, so a
-- change to how a key is checked or counted is made once. Same columns, same behaviour:
-- the hit is counted only for a live key with a limit.
create function authenticate_key_id(p_key_id text, p_window_ms integer)
returns table (id text, name text, scopes text[], rate_limit integer, revoked_at timestamptz,
               allowed boolean, remaining integer, reset_ms integer)
language plpgsql as $$
declare
  k record;
begin
  select a.id, a.name, a.scopes, a.rate_limit, a.revoked_at into k from api_keys a where a.id = p_key_id;
  if not found then return; end if;
  id := k.id; name := k.name; scopes := k.scopes; rate_limit := k.rate_limit; revoked_at := k.revoked_at;
  if k.rate_limit is not null and k.revoked_at is null then
    select r.allowed, r.remaining, r.reset_ms into allowed, remaining, reset_ms
    from rate_limit_hit(k.id, k.rate_limit, p_window_ms) r;
  end if;
  return next;
end;
$$;

create or replace function authenticate_key(p_key_hash text, p_window_ms integer)
returns table (id text, name text, scopes text[], rate_limit integer, revoked_at timestamptz,
               allowed boolean, remaining integer, reset_ms integer)
language plpgsql as $$
declare
  v_key_id text;
begin
  select a.id into v_key_id from api_keys a where a.key_hash = p_key_hash;
  if not found then return; end if;
  return query select * from authenticate_key_id(v_key_id, p_window_ms);
end;
$$;

create or replace function authenticate_session(p_session_id text, p_window_ms integer)
returns table (session_id text, expires_at timestamptz, id text, name text, scopes text[], rate_limit integer,
               revoked_at timestamptz, allowed boolean, remaining integer, reset_ms integer)
language plpgsql as $$
declare
  s record;
begin
  select d.id, d.subject_type, d.subject_id, d.expires_at into s from dashboard_sessions d
  where d.id = p_session_id and d.ended_at is null and d.expires_at > now();
  if not found or s.subject_type <> 'key' then return; end if;
  return query select s.id, s.expires_at, k.* from authenticate_key_id(s.subject_id, p_window_ms) k;
end;
$$;
