-- Decision links, looked up by the SHA-256 of a token (the tokens themselves are never stored).
drop table if exists decision_links cascade;

create table decision_links (
  id                  text primary key,
  request_id          text not null,
  approve_token_hash  text not null unique,
  deny_token_hash     text not null unique,
  reviewer            text,
  recipient           text,             -- emailed by a notification: decides as this address's reviewer
  issued_by           jsonb not null,
  expires_at          timestamptz not null,
  created_at          timestamptz not null
);
create index decision_links_request_idx on decision_links (request_id);

create or replace function project_decision_links(e events) returns void language plpgsql as $$
declare
  d jsonb := e.data;
begin
  if e.stream_type <> 'request' or e.type <> 'request.decision_link_issued' then return; end if;
  insert into decision_links (id, request_id, approve_token_hash, deny_token_hash, reviewer, recipient, issued_by, expires_at, created_at)
  values (d->>'linkId', substr(e.stream_id, 9), d->>'approveTokenHash', d->>'denyTokenHash', d->>'reviewer', d->>'recipient',
    d->'issuedBy', (d->>'expiresAt')::timestamptz, e.recorded_at);
end;
$$;
