-- Dashboard sessions. The browser holds a short-lived signed token (a cookie) naming a
-- session row; the row makes sign-out final and lets a session outlive many tokens.
-- The subject is a key today; a reviewer signed in by an emailed link is a subject too.
create table dashboard_sessions (
  id text primary key,
  subject_type text not null check (subject_type in ('key', 'reviewer')),
  subject_id text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  ended_at timestamptz,
  user_agent text
);
create index dashboard_sessions_subject on dashboard_sessions (subject_type, subject_id) where ended_at is null;

-- Secrets the server generates for itself when the operator gives none (e.g. the session
-- signing key), kept here so every server process and every restart shares them.
create table server_secrets (
  name text primary key,
  value text not null,
  created_at timestamptz not null default now()
);

-- A session's key, checked and counted like a bearer key in one round trip: a revoked key,
-- an ended or expired session, or an unknown one returns no row.
create function authenticate_session(p_session_id text, p_window_ms integer)
returns table (session_id text, expires_at timestamptz, id text, name text, scopes text[], rate_limit integer,
               revoked_at timestamptz, allowed boolean, remaining integer, reset_ms integer)
language plpgsql as $$
declare
  s record;
  k record;
begin
  select d.id, d.subject_type, d.subject_id, d.expires_at into s from dashboard_sessions d
  where d.id = p_session_id and d.ended_at is null and d.expires_at > now();
  if not found or s.subject_type <> 'key' then return; end if;
  select a.id, a.name, a.scopes, a.rate_limit, a.revoked_at into k from api_keys a where a.id = s.subject_id;
  if not found then return; end if;
  session_id := s.id; expires_at := s.expires_at;
  id := k.id; name := k.name; scopes := k.scopes; rate_limit := k.rate_limit; revoked_at := k.revoked_at;
  if k.rate_limit is not null and k.revoked_at is null then
    select r.allowed, r.remaining, r.reset_ms into allowed, remaining, reset_ms
    from rate_limit_hit(k.id, k.rate_limit, p_window_ms) r;
  end if;
  return next;
end;
$$;
