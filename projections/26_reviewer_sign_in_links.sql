-- One-time dashboard sign-in links emailed to reviewers: found by the hash of their token
-- (the token itself is never stored). Whether a link still works is decided on the
-- reviewer's stream (sessions/sign-in-link-decider.ts); this table only finds it.
drop table if exists reviewer_sign_in_links cascade;

create table reviewer_sign_in_links (
  id           text primary key,
  reviewer_id  text not null,
  token_hash   text not null unique,
  email        text not null,
  issued_at    timestamptz not null,
  expires_at   timestamptz not null,
  used_at      timestamptz,
  session_id   text
);
create index reviewer_sign_in_links_reviewer_idx on reviewer_sign_in_links (reviewer_id, issued_at desc);

create or replace function project_reviewer_sign_in_links(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
begin
  if e.stream_type <> 'reviewer' then return; end if;
  case e.type
    when 'reviewer.sign_in_link_issued' then
      insert into reviewer_sign_in_links (id, reviewer_id, token_hash, email, issued_at, expires_at)
      values (d->>'linkId', substr(e.stream_id, length('reviewer-') + 1), d->>'tokenHash', d->>'email', e.recorded_at, (d->>'expiresAt')::timestamptz)
      on conflict do nothing;
    when 'reviewer.signed_in' then
      update reviewer_sign_in_links set used_at = e.recorded_at, session_id = d->>'sessionId' where id = d->>'linkId';
    else null;
  end case;
end;
$$;
